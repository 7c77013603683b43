"""Pytest plugin: a real simulator over HTTP, shared (`simulator`) or private (`make_simulator`).

Use `simulator` for read-only behaviour (default config, session-wide, never reconfigure it);
use `make_simulator(**config_overrides)` for anything that changes quotas, faults, clock or data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gsc_assets.simulator import Simulator, SimulatorConfig


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    """A default-config simulator serving in a thread for the whole test session."""
    sim = Simulator(SimulatorConfig()).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory: `make_simulator(**config_overrides) -> Simulator`; each is stopped at teardown."""
    started: list[Simulator] = []

    def make(**config_overrides: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(**config_overrides)).start()
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            sim.stop()
