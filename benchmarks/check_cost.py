"""What the asset checks cost on a 16-month warehouse: judging one run's date vs all of history.

`python -m benchmarks.check_cost [--days 486] [--database-url URL]` syncs the site and page reports
of the simulator's bigger site (final data) for `--days` dates through the real pipeline, then
times every check of those tables twice on the same warehouse: over the last date only (what a
daily run's checks judge: the run's partitions) and over every date (what a check judging the
whole table costs; the checks' cost before they were scoped to the run). Medians of `--repeat`.
Prints a markdown table; the numbers go in the issue note and BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import BIG_SITE, fmt, http_fetcher, table
from gsc_assets.reports.catalogue import PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.settings import oldest_retained_date
from gsc_assets.simulator import Simulator
from gsc_assets.sync.daily import sync_report
from gsc_assets.warehouse import quality
from gsc_assets.warehouse.engine import create_schema, make_engine
from gsc_assets.warehouse.schema import table_for

Check = Callable[[sa.Connection, list[dt.date]], quality.CheckOutcome]


def checks() -> dict[str, Check]:
    """The checks on gsc_site_daily and gsc_page_daily that take the dates to judge."""
    site, page = table_for(SITE_REPORT), table_for(PAGE_REPORT)
    return {
        "gsc_site_daily.rows_match_sync_log": lambda c, d: quality.rows_match_sync_log(
            c, SITE_REPORT, d
        ),
        "gsc_site_daily.has_no_duplicate_keys": lambda c, d: quality.has_no_duplicate_keys(
            c, site, d
        ),
        "gsc_page_daily.rows_match_sync_log": lambda c, d: quality.rows_match_sync_log(
            c, PAGE_REPORT, d
        ),
        "gsc_page_daily.has_no_duplicate_keys": lambda c, d: quality.has_no_duplicate_keys(
            c, page, d
        ),
        "gsc_page_daily.pages_sum_to_page_totals": quality.pages_sum_to_page_totals,
        "gsc_page_daily.is_complete": lambda c, d: quality.is_complete(
            c, PAGE_REPORT, d, require_rows=True
        ),
        "gsc_page_daily.has_no_url_variants": quality.has_no_url_variants,
    }


def build_warehouse(engine: sa.Engine, days: int) -> tuple[list[dt.date], int, float]:
    """Sync `days` final dates of the big site's site and page reports; (dates, rows, seconds)."""
    started = time.perf_counter()
    rows = 0
    with Simulator() as sim:
        last = sim.today() - dt.timedelta(days=5)
        first = max(last - dt.timedelta(days=days - 1), oldest_retained_date(sim.today()))
        dates = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        # A month per sync: the simulator computes a range's totals from every page row, and a
        # 16-month totals request outlasts the client's timeout on 2 busy cores.
        for start in range(0, len(dates), 31):
            for report in (SITE_REPORT, PAGE_REPORT):
                fetcher, client = http_fetcher(sim, concurrency=8, budget=100_000)
                try:
                    outcome = sync_report(
                        fetcher,
                        engine,
                        report,
                        dates[start : start + 31],
                        sites=(BIG_SITE,),
                        search_types=(SearchType.WEB,),
                        data_state=DataState.FINAL,
                    )
                    rows += sum(n.rows for n in outcome.by_date.values())
                finally:
                    fetcher.close()
                    client.close()
    return dates, rows, time.perf_counter() - started


def time_check(engine: sa.Engine, check: Check, dates: list[dt.date], repeat: int) -> float:
    """Median seconds of one evaluation on a fresh connection."""
    seconds = []
    for _ in range(repeat):
        with engine.connect() as conn:
            started = time.perf_counter()
            outcome = check(conn, dates)
            seconds.append(time.perf_counter() - started)
        del outcome  # passing or not (the simulator's URL variants WARN), the cost is the same
    return statistics.median(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--days", type=int, default=500, help="dates (default: every retained date, 16 months)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'warehouse.sqlite'}"
        engine = make_engine(url)
        create_schema(engine)
        dates, rows, seconds = build_warehouse(engine, args.days)
        kind = url.split(":")[0]
        print(f"warehouse: {len(dates)} dates, {rows:,} rows ({kind}), built in {seconds:.0f} s")  # noqa: T201
        lines = []
        for name, check in checks().items():
            one = time_check(engine, check, dates[-1:], args.repeat)
            every = time_check(engine, check, dates, args.repeat)
            lines.append([name, fmt(one * 1000), fmt(every * 1000), fmt(every / one)])
        engine.dispose()
    print(table(["check", "run's date ms", "all dates ms", "ratio"], lines))  # noqa: T201


if __name__ == "__main__":
    main()
