"""Shared pieces of the benchmark scenarios: simulator, fetcher, timing, tables, results.

Every scenario returns a `Result`: rows for a printed table, the figures that decide its
targets, and a verdict per target. `record` prints the table, writes
`benchmarks/results/<name>.json` and replaces the scenario's section in BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.catalogue import SITE_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.credentials import load_token_provider
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter, QuotaStore
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets.simulator import Simulator
from gsc_assets.warehouse.bulk import insert_rows
from gsc_assets.warehouse.engine import begin_write

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
BIG_SITE = "https://www.example.com/"  # ~1,940 page rows a day; page x query capped at 50,000


def machine() -> dict[str, Any]:
    """Where the numbers were taken: cores and load average (2 cores are shared here)."""
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


@dataclass
class Target:
    """One target of a scenario: what it asks, what was measured, whether it is met."""

    text: str
    measured: str
    met: bool


@dataclass
class Result:
    """What a scenario measured."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quick: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def final_days(sim: Simulator, site: str, count: int, search_type=SearchType.WEB) -> list[DaySlice]:
    """`count` final days of `site`, newest first (Search Console's data is final after ~3 days)."""
    last_final = sim.today() - dt.timedelta(days=5)
    return [DaySlice(site, last_final - dt.timedelta(days=i), search_type) for i in range(count)]


def http_fetcher(
    sim: Simulator,
    *,
    concurrency: int,
    budget: int = 1_200,
    store: QuotaStore | None = None,
    max_pending_days: int | None = None,
) -> tuple[PartitionFetcher, SearchConsoleClient]:
    """A real client and fetcher against `sim`, as the Dagster resource builds them."""
    tokens = load_token_provider(access_token="sim-token", credentials_file=None)
    client = SearchConsoleClient(
        sim.base_url, tokens, timeout_seconds=30.0, pool_size=max(16, concurrency)
    )
    limiter = QuotaLimiter(store or InMemoryQuotaStore(), budget_qpm=budget)
    fetcher = PartitionFetcher(
        client,
        limiter,
        credential_id=tokens.identity,
        max_concurrency=concurrency,
        **({"max_pending_days": max_pending_days} if max_pending_days else {}),
        retry_policy=RetryPolicy(base_delay_seconds=0.2, max_delay_seconds=5.0),
    )
    return fetcher, client


class Stopwatch:
    """Thread-safe accumulated seconds under names (fetch wait, decode, write, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - started)

        return wrapper


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def record(result: Result, started: dict[str, Any]) -> None:
    """Print, write JSON and update BENCHMARKS.md for one scenario."""
    ended = machine()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    variant = "quick" if result.quick else "full"
    header = (
        f"_{when}, {variant} variant, {started['cores']} cores, load average "
        f"{' / '.join(map(str, started['load_average']))} before and "
        f"{' / '.join(map(str, ended['load_average']))} after (1/5/15 min)._"
    )
    body = [f"### {result.title}", "", header, "", table(result.columns, result.rows), ""]
    for target in result.targets:
        mark = "MET" if target.met else "NOT MET"
        body.append(f"- **{mark}** — {target.text}: measured {target.measured}")
    body += [f"- {note}" for note in result.notes]
    section = "\n".join(body).rstrip() + "\n"
    print("\n" + section)  # noqa: T201
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": result.name,
        "when": when,
        "variant": variant,
        "machine_before": started,
        "machine_after": ended,
        "columns": result.columns,
        "rows": result.rows,
        "targets": [t.__dict__ for t in result.targets],
        "notes": result.notes,
        "extra": result.extra,
    }
    (RESULTS_DIR / f"{result.name}.json").write_text(json.dumps(payload, indent=2, default=str))
    _update_markdown(result.name, section)


def _update_markdown(name: str, section: str) -> None:
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{section}{end}"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


class ExternalSimulator:
    """The simulator in its own process (`python -m gsc_assets.simulator`), so its CPU work
    (generating and serialising rows) does not share this process's GIL with the fetcher.

    Offers what the scenarios use of `Simulator`: base_url, sites, today(), stats(),
    reset_stats(). Use as a context manager; the process is stopped on exit.
    """

    def __init__(self, *args: str) -> None:
        import subprocess
        import sys

        from gsc_assets.simulator.freshness import pacific_today

        self._today = pacific_today()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gsc_assets.simulator",
                "--port",
                "0",
                "--today",
                self._today.isoformat(),
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline().strip()
        self.base_url = first.rsplit(" ", 1)[-1]
        self._process.stdout.readline()
        self._process.stdout.readline()
        self.sites = tuple(self._process.stdout.readline().split(": ", 1)[1].strip().split(", "))

    def today(self) -> dt.date:
        return self._today

    def _admin(self, method: str, path: str) -> dict[str, Any]:
        import urllib.request

        request = urllib.request.Request(
            self.base_url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "/_sim/stats")

    def reset_stats(self) -> None:
        self._admin("POST", "/_sim/reset")

    def __enter__(self) -> ExternalSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def bare_bulk_insert(engine: sa.Engine, table: sa.Table, rows: Iterable[Sequence[Any]]) -> int:
    """Insert column-ordered value tuples into `table` in one transaction: the speed ceiling.

    The same insert path as replace_partition, without delete, sync log or dirty tracking.
    """
    with begin_write(engine) as conn:
        return insert_rows(conn, table, rows)


def fetch_days(
    fetcher: PartitionFetcher,
    client: SearchConsoleClient,
    days: list[DaySlice],
    report: Report = SITE_REPORT,
) -> float:
    """Fetch `report` (final data) for `days`, then close both; the seconds it took."""
    started = time.perf_counter()
    try:
        for _ in fetcher.iter_days(days, (report,), DataState.FINAL):
            pass
    finally:
        fetcher.close()
        client.close()
    return time.perf_counter() - started
