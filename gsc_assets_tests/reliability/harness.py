"""Shared by the reliability scenarios: small simulated sites, a run's env, exact comparison.

The simulator serves seeded data; `assert_warehouse_exact` compares every synced (table, site,
date) of the warehouse row for row with what the simulator's API returns for it, and checks that
nothing else is stored for those dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates
from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.report import Report
from gsc_assets.simulator import Simulator
from gsc_assets.simulator.dataset import SiteSpec

SYNC_TABLES = tuple(report.table for report in CORE_REPORTS)
SMALL_SITES = (
    SiteSpec("https://small.example.com/", pages=60, queries=400, page_query_rows=500),
    SiteSpec("sc-domain:tiny.example.org", pages=30, queries=200, page_query_rows=250),
)


def recent_dates(count: int, *, newest_days_ago: int = 5) -> tuple[dt.date, dt.date]:
    """`count` consecutive final dates ending `newest_days_ago` days ago (Pacific)."""
    last = today_pacific() - dt.timedelta(days=newest_days_ago)
    return last - dt.timedelta(days=count - 1), last


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def run_env(sim: Simulator, database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a sync against `sim` (static token; override for key files)."""
    env = {
        "GSC_API_BASE_URL": sim.base_url,
        "GSC_ACCESS_TOKEN": "sim-token",
        "GSC_SITES": ",".join(sim.sites),
        "GSC_DATABASE_URL": database_url,
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (today_pacific() - dt.timedelta(days=60)).isoformat(),
        "GSC_MAX_CONCURRENCY": "4",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def materialize(
    env: dict[str, str],
    first: dt.date,
    last: dt.date,
    tables: Sequence[str] = SYNC_TABLES,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """One in-process run of the real assets for [first, last]."""
    if instance is not None:
        return materialize_dates(build_definitions(env), tables, first, last, instance=instance)
    with dg.DagsterInstance.ephemeral() as ephemeral:
        return materialize_dates(build_definitions(env), tables, first, last, instance=ephemeral)


def report_for(table: str) -> Report:
    return next(r for r in CORE_REPORTS if r.table == table)


def expected_rows(sim: Simulator, table: str, site: str, date: dt.date) -> list[tuple[Any, ...]]:
    report = report_for(table)
    rows = sim.expected_rows(
        site,
        date,
        "web",
        [d.value for d in report.request_dimensions],
        report.aggregation_type.value,
        "final",
    )
    return sorted(tuple(row) for row in rows)


def stored_rows(engine: sa.Engine, table: str, site: str, date: dt.date) -> list[tuple[Any, ...]]:
    """Rows in the API's tuple shape: (date, *keys, clicks, impressions, ctr, position)."""
    report = report_for(table)
    columns = ["date", *(d.value for d in report.dimensions)]
    columns += ["clicks", "impressions", "ctr", "position"]
    sql = (
        f"select {', '.join(columns)} from {table} "
        "where site_url = :site and date = :date and search_type = 'web'"
    )
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql), {"site": site, "date": date})
        return sorted((str(row[0]), *row[1:]) for row in result)


def expected_counts(
    sim: Simulator, dates: Sequence[dt.date], tables: Sequence[str] = SYNC_TABLES
) -> dict[tuple[str, dt.date], int]:
    """Rows a complete partition holds, per (table, date), over every site."""
    return {
        (table, date): sum(len(expected_rows(sim, table, site, date)) for site in sim.sites)
        for table in tables
        for date in dates
    }


def stored_counts(
    engine: sa.Engine, dates: Sequence[dt.date], tables: Sequence[str] = SYNC_TABLES
) -> dict[tuple[str, dt.date], int]:
    """Rows stored per (table, date), each table read in one statement (one snapshot)."""
    counts: dict[tuple[str, dt.date], int] = {}
    with engine.connect() as conn:
        for table in tables:
            sql = f"select date, count(*) from {table} group by date"
            found = {str(d): n for d, n in conn.execute(sa.text(sql))}
            for date in dates:
                counts[(table, date)] = found.get(date.isoformat(), 0)
    return counts


def assert_warehouse_exact(
    sim: Simulator,
    engine: sa.Engine,
    first: dt.date,
    last: dt.date,
    tables: Sequence[str] = SYNC_TABLES,
) -> int:
    """Every (table, site, date) equals the API row for row, and nothing else is stored."""
    dates = dates_between(first, last)
    total = 0
    for table in tables:
        for date in dates:
            for site in sim.sites:
                want = expected_rows(sim, table, site, date)
                got = stored_rows(engine, table, site, date)
                assert got == want, (table, site, date, len(got), len(want))
                total += len(got)
    assert stored_counts(engine, dates, tables) == expected_counts(sim, dates, tables)
    with engine.connect() as conn:
        for table in tables:
            stored = conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()
            wanted = sum(expected_counts(sim, dates, [table]).values())
            assert stored == wanted, (table, stored, wanted)
    return total


def step_metadata(result: dg.ExecuteInProcessResult, table: str) -> dict[str, Any]:
    """The materialization metadata of `table`'s (first) partition, as plain values."""
    materialization = result.asset_materializations_for_node(table)[0]
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error text of the run's first failed step."""
    events = result.get_step_failure_events()
    assert events, "expected a failed step"
    error = events[0].step_failure_data.error
    assert error is not None
    return error.to_string()
