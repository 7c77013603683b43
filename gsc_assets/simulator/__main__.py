"""`python -m gsc_assets.simulator --port 8765`: serve a simulated Search Console until stopped.

Binds 127.0.0.1 only. Prints the base URL, the token endpoint and the static bearer token, then
runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from collections.abc import Sequence

from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.server import running_simulator


def _qpm(text: str) -> int | None:
    return None if text.lower() in ("none", "off", "0") else int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command-line options; each maps to one `SimulatorConfig` field."""
    parser = argparse.ArgumentParser(prog="python -m gsc_assets.simulator", description=__doc__)
    add = parser.add_argument
    add("--port", type=int, default=8765, help="TCP port on 127.0.0.1 (0 = any free port)")
    add("--seed", type=int, default=0, help="dataset and fault RNG seed")
    add(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="simulated current date YYYY-MM-DD (default: today in America/Los_Angeles)",
    )
    add("--qpm-per-site", type=_qpm, default=1200, help="queries/minute per site ('off' = none)")
    add("--qpm-per-user", type=_qpm, default=1200, help="queries/minute per user ('off' = none)")
    add("--quota-error-style", choices=("429", "403"), default="429")
    add("--retry-after-seconds", type=float, default=None)
    add("--latency-median-ms", type=float, default=0.0)
    add("--latency-p99-ms", type=float, default=None)
    add("--error-rate", type=float, default=0.0, help="share of 500/503 answers")
    add("--drop-rate", type=float, default=0.0, help="share of connections closed unanswered")
    add("--slow-rate", type=float, default=0.0)
    add("--slow-seconds", type=float, default=5.0)
    add("--token-ttl-seconds", type=float, default=3600.0)
    add(
        "--static-token",
        action="append",
        dest="static_tokens",
        default=None,
        help="a bearer token that is always valid (repeatable; default sim-token)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """The `SimulatorConfig` the parsed options describe."""
    values = {k: v for k, v in vars(args).items() if k != "port"}
    values["static_tokens"] = tuple(args.static_tokens or ("sim-token",))
    return SimulatorConfig(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground."""
    args = build_parser().parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with running_simulator(config_from_args(args), port=args.port) as simulator:
        print(f"Search Console simulator at {simulator.base_url}", flush=True)  # noqa: T201
        print(f"token endpoint: {simulator.token_uri}", flush=True)  # noqa: T201
        print(f"static token: {simulator.config.static_tokens[0]}", flush=True)  # noqa: T201
        print(f"sites: {', '.join(simulator.sites)}", flush=True)  # noqa: T201
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
