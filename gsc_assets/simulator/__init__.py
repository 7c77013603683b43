"""A faithful Search Console over HTTP, for tests, demos and benchmarks.

Start one with `running_simulator(SimulatorConfig(...))` or `python -m gsc_assets.simulator`.
It shares no code with `gsc_assets.search_console`: one parsing bug must not pass both sides.
"""

from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.dataset import DEFAULT_SITES, SiteSpec
from gsc_assets.simulator.server import Simulator, running_simulator

__all__ = ["DEFAULT_SITES", "Simulator", "SimulatorConfig", "SiteSpec", "running_simulator"]
