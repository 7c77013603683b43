"""Crash recovery: SIGKILL of the run process at seeded random points, then a re-run.

Contract: whatever instant a run process dies at (while fetching, in the middle of writing a
partition, between partitions), a concurrent reader only ever sees each (table, date) partition
empty (never written yet) or complete — once complete it never goes back — a re-run of the same
dates leaves the warehouse equal to the simulator row for row, and the shared quota store holds
no pause or reduced rate that would slow the next run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from gsc_assets.simulator.dataset import SiteSpec
from gsc_assets.warehouse.engine import create_schema, make_engine
from gsc_assets.warehouse.quota_store import SqlQuotaStore
from gsc_assets_tests.reliability.harness import (
    SYNC_TABLES,
    assert_warehouse_exact,
    dates_between,
    expected_counts,
    materialize,
    recent_dates,
    run_env,
    step_metadata,
    stored_counts,
)

CRASH_SITES = (
    SiteSpec("https://crash.example.com/", pages=400, queries=6_000, page_query_rows=12_000),
)
LINE_TIMEOUT_SECONDS = 60.0
ZYGOTE_MODULE = "gsc_assets_tests.reliability.sync_zygote"
log = logging.getLogger(__name__)


class Zygote:
    """The launcher process (see sync_zygote.py) and the lines it printed, in order."""

    def __init__(self, env: dict[str, str], first, last) -> None:
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gsc_assets_tests.reliability.sync_zygote",
                str(first),
                str(last),
            ],
            cwd=root,
            env={**os.environ, **env, "PYTHONWARNINGS": "ignore"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.strip()))

    def expect(self, prefix: str) -> tuple[float, list[str]]:
        """Wait for a line starting with `prefix`; return its time and every line before it."""
        seen = []
        deadline = time.monotonic() + LINE_TIMEOUT_SECONDS
        while True:
            at, line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if line.startswith(prefix):
                return at, seen

    def start_run(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        _, lines = self.expect("started ")
        return int(lines[-1].split()[1])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # type: ignore[union-attr]
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class PartitionWatcher:
    """Polls per-(table, date) row counts; records any state other than empty or complete."""

    def __init__(self, url: str, expected: dict) -> None:
        self.engine = make_engine(url)
        self.expected = expected
        self.complete: set = set()
        self.violations: list[str] = []
        self.polls = 0
        self.partial_never_seen = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._dates = sorted({date for _, date in expected})

    def __enter__(self) -> PartitionWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.engine.dispose()

    def _poll(self) -> None:
        while not self._stop.is_set():
            counts = stored_counts(self.engine, self._dates, SYNC_TABLES)
            self.polls += 1
            for key, count in counts.items():
                if count == self.expected[key]:
                    self.complete.add(key)
                elif count != 0 or key in self.complete:
                    self.violations.append(f"{key}: {count} rows of {self.expected[key]}")
            time.sleep(0.005)


def kill_phase(lines: list[str]) -> str:
    """Where the run was when killed, from the write markers it printed."""
    writes = [line for line in lines if line.startswith("write")]
    if not writes:
        return "fetching"
    return "mid-write" if writes[-1].startswith("write+") else "between writes"


def crash_and_recover(sim, url: str, kills: int, seed: int) -> None:
    first, last = recent_dates(4)
    dates = dates_between(first, last)
    expected = expected_counts(sim, dates)
    env = run_env(sim, url, GSC_MAX_CONCURRENCY="4")
    engine = make_engine(url)
    create_schema(engine)  # the reader polls from the first instant
    rng = random.Random(seed)
    phases: Counter[str] = Counter()
    run_seconds = 1.5  # refined by every run that finishes before its kill
    zygote = Zygote(env, first, last)
    try:
        with PartitionWatcher(url, expected) as watcher:
            for _ in range(kills):
                started = time.monotonic()
                pid = zygote.start_run()
                time.sleep(rng.uniform(0.0, run_seconds))
                # A run that already finished has been reaped by the zygote: no such process.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _, lines = zygote.expect(f"exited {pid}")
                status = int(lines[-1].split()[2])
                if status == -signal.SIGKILL:
                    phases[kill_phase(lines)] += 1
                else:
                    phases["finished first"] += 1
                    run_seconds = time.monotonic() - started
            recovery_started = time.monotonic()
            result = materialize(env, first, last)
            recovery_seconds = time.monotonic() - recovery_started
            time.sleep(0.05)  # one more poll of the final state
        assert result.success
        log.info(
            "kill points: %s; reader polls %d; re-run %.1fs",
            dict(phases),
            watcher.polls,
            recovery_seconds,
        )
        assert watcher.violations == []
        assert watcher.polls > kills
        assert sum(phases[p] for p in ("fetching", "mid-write", "between writes")) >= kills // 2
        # Where kills land depends on machine load; at least one must hit the write phase.
        assert phases["mid-write"] + phases["between writes"] >= 1
        assert assert_warehouse_exact(sim, engine, first, last) > 0
        store = SqlQuotaStore(engine)
        for site in sim.sites:
            assert store.paused_until(f"site:{site}") <= time.time()
            assert store.get_factor(f"site:{site}") == 1.0
        for table in SYNC_TABLES:
            assert step_metadata(result, table)["limiter_wait_seconds"] < 1.0
    finally:
        zygote.close()
        engine.dispose()


def test_sigkill_at_random_points_then_rerun_on_sqlite(make_simulator, tmp_path):
    sim = make_simulator(sites=CRASH_SITES, seed=21, latency_median_ms=15.0)
    crash_and_recover(sim, f"sqlite:///{tmp_path / 'warehouse.sqlite'}", kills=14, seed=1)


@pytest.mark.postgres
def test_sigkill_at_random_points_then_rerun_on_postgres(make_simulator, postgres_schema_url):
    sim = make_simulator(sites=CRASH_SITES, seed=22, latency_median_ms=15.0)
    crash_and_recover(sim, postgres_schema_url, kills=8, seed=2)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(5))
def test_sigkill_soak_on_sqlite(make_simulator, tmp_path, seed):
    sim = make_simulator(sites=CRASH_SITES, seed=30 + seed, latency_median_ms=15.0)
    crash_and_recover(sim, f"sqlite:///{tmp_path / 'warehouse.sqlite'}", kills=40, seed=seed)
