"""Benchmark suite against the built-in simulator.

`python -m benchmarks.run [--quick] [--only NAME]`

Scenarios (latency-bound and CPU-bound kept apart):
  latency_bound     page report, 60 days, 300 ms median / 2 s p99 latency: 1 vs 4..32 workers
  throughput        page x query, 14 days (~50k rows a day): rows/s into SQLite and Postgres
                    against a bare bulk insert of the same rows (the ceiling)
  quota_bound       quota 600 QPM, budget 600, ~3 minutes (--quick: ~1.5 minutes)
  quota_delayed     the same with slow answers and requests held 2.5 s after admission
  concurrent_runs   4 Dagster runs (processes) on one site sharing 600 QPM
  limiter_overhead  one admission in-process and through SqlQuotaStore (SQLite, Postgres)
  memory            peak RSS of a process: one 50k-row day and a 60-day run
  decode            CPU per row decoding one 25,000-row page x query page into row tuples
  core_requests     three core reports, 30 days, 300/900 ms latency: requests and rows/s
  quota_5qpm        page report, 10 days, quota and budget 5 QPM: end-to-end seconds
  latency_tail      60 one-day requests at 16 workers vs the ideal schedule of their latencies
  cli_run           page report, 30 days, one `dagster asset materialize` run: wall, start-up,
                    fetching, wind-down, next to Dagster's no-op floor

Each prints a table, writes benchmarks/results/<name>.json (gitignored) and replaces its
section in BENCHMARKS.md (date, variant, cores, load average). Postgres: 127.0.0.1:5432, user
postgres, database `test`.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from benchmarks.cli_scenarios import cli_run
from benchmarks.common import machine, record
from benchmarks.decode import decode
from benchmarks.fetch_scenarios import latency_bound, quota_bound, throughput
from benchmarks.plan_scenarios import core_requests, latency_tail, quota_5qpm
from benchmarks.process_scenarios import concurrent_runs, limiter_overhead, memory
from benchmarks.quota_scenarios import quota_delayed

SCENARIOS = {
    "latency_bound": latency_bound,
    "throughput": throughput,
    "quota_bound": quota_bound,
    "quota_delayed": quota_delayed,
    "concurrent_runs": concurrent_runs,
    "limiter_overhead": limiter_overhead,
    "memory": memory,
    "decode": decode,
    "core_requests": core_requests,
    "quota_5qpm": quota_5qpm,
    "latency_tail": latency_tail,
    "cli_run": cli_run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="shorter variants")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only NAME")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.only or SCENARIOS:
        started = machine()
        print(  # noqa: T201
            f"== {name} ({'quick' if args.quick else 'full'}), load {started['load_average']}",
            flush=True,
        )
        try:
            record(SCENARIOS[name](args.quick), started)
        except Exception:  # one broken scenario must not hide the others' numbers
            traceback.print_exc()
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
