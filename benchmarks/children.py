"""Child processes of the benchmarks (`python -m benchmarks.children run|memory ...`)."""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time


def _rss_mb() -> float:
    """Peak resident set of THIS process (VmHWM). Not ru_maxrss: Linux carries the parent's
    peak across fork + exec, so a child of a big parent would report the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(first: str, last: str) -> None:
    """One Dagster run materializing the configured reports for [first, last] (env: GSC_*)."""
    import dagster as dg

    from gsc_assets.definitions import build_definitions
    from gsc_assets.defs.runs import materialize_dates
    from gsc_assets.settings import Settings

    defs = build_definitions()
    tables = [report.table for report in Settings.from_env().reports]
    print("ready", flush=True)  # noqa: T201
    sys.stdin.readline()
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(
            defs,
            tables,
            dt.date.fromisoformat(first),
            dt.date.fromisoformat(last),
            instance=instance,
            log_level="WARNING",
        )
    print(json.dumps({"success": result.success}), flush=True)  # noqa: T201


def memory(
    base_url: str, report_name: str, days: str, url: str, last_final: str, how: str = "days"
) -> None:
    """Fetch and write `days` days of one report; print rows, seconds and peak RSS.

    how="days": one-day requests (`iter_days`), each day written by `replace_partition`;
    how="sync": `sync_report` with its defaults, as the assets run it (packed requests, the
    reconciliation's totals, each date published and audited).
    """
    from gsc_assets.reports.catalogue import CORE_REPORTS
    from gsc_assets.reports.slices import DaySlice
    from gsc_assets.reports.vocabulary import DataState, SearchType
    from gsc_assets.search_console.client import SearchConsoleClient
    from gsc_assets.search_console.credentials import load_token_provider
    from gsc_assets.search_console.fetcher import PartitionFetcher
    from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter
    from gsc_assets.sync.daily import sync_report
    from gsc_assets.warehouse.engine import create_schema, make_engine
    from gsc_assets.warehouse.writes import replace_partition

    report = next(r for r in CORE_REPORTS if r.name == report_name)
    engine = make_engine(url)
    create_schema(engine)
    baseline = _rss_mb()
    tokens = load_token_provider(access_token="sim-token", credentials_file=None)
    client = SearchConsoleClient(base_url, tokens)
    fetcher = PartitionFetcher(
        client,
        QuotaLimiter(InMemoryQuotaStore(), budget_qpm=1_200),
        credential_id=tokens.identity,
        max_concurrency=8,
    )
    last = dt.date.fromisoformat(last_final)
    slices = [
        DaySlice("https://www.example.com/", last - dt.timedelta(days=i)) for i in range(int(days))
    ]
    rows, started = 0, time.perf_counter()
    try:
        if how == "sync":
            dates = sorted(day.date for day in slices)
            rows = sync_report(
                fetcher,
                engine,
                report,
                dates,
                sites=[slices[0].site_url],
                search_types=[SearchType.WEB],
                data_state=DataState.FINAL,
            ).rows_written
            slices = []
        for _day, result in fetcher.iter_days(slices, (report,), DataState.FINAL):
            batch = result[report.name]
            replace_partition(engine, report, [batch])
            rows += len(batch.rows)
            del batch, result
    finally:
        fetcher.close()
        client.close()
        engine.dispose()
    seconds = time.perf_counter() - started
    print(  # noqa: T201
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "baseline_rss_mb": baseline,
                "peak_rss_mb": _rss_mb(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"run": run, "memory": memory}[command](*args)
