"""Tamper evidence: any change to stored metrics after a sync fails a blocking check.

Contract: the sync log records, per slice, the rows and the sums of clicks, impressions, ctr and
position that were fetched; `rows_match_sync_log` (ERROR, blocking, on every daily table)
compares each slice's stored count and sums with its latest sync, so raising the site totals'
clicks, one query row's clicks, or any row's impressions in any report table fails it, naming
the slice and both numbers.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.reports.catalogue import BUILTIN_BY_NAME
from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.schema import dimension_columns, table_for
from gsc_assets_tests.defs.test_assets import env_for
from gsc_assets_tests.defs.test_checks import SMALL_SITE, run, run_check

DAILY_REPORTS = [r for r in BUILTIN_BY_NAME.values() if not r.is_hourly]


def change_one_row(engine, report, metric: str, delta: float) -> None:
    """Add `delta` to `metric` of one stored row of `report` (the first by key)."""
    table = table_for(report)
    key = [table.c.site_url, table.c.date, table.c.search_type]
    key += [table.c[name] for name in dimension_columns(report)]
    with engine.begin() as conn:
        row = conn.execute(sa.select(*key).where(table.c[metric] > 0).order_by(*key).limit(1)).one()
        changed = conn.execute(
            sa.update(table)
            .where(*(column == value for column, value in zip(key, row, strict=True)))
            .values({metric: table.c[metric] + delta})
        )
        assert changed.rowcount == 1


def assert_caught(defs, warehouse_url: str, table: str, day: dt.date, metric: str, delta: float):
    outcome = run_check(defs, warehouse_url, table, "rows_match_sync_log")
    assert not outcome.passed and outcome.severity is dg.AssetCheckSeverity.ERROR, table
    [mismatch] = outcome.metadata["mismatches"].value
    assert (mismatch["site"], mismatch["date"]) == (SMALL_SITE.site_url, day.isoformat())
    synced, stored = mismatch[f"sum_{metric}_synced"], mismatch[f"sum_{metric}_stored"]
    assert stored - synced == pytest.approx(delta)
    assert SMALL_SITE.site_url in outcome.description and str(synced) in outcome.description


def all_pass(defs, warehouse_url: str) -> bool:
    return all(
        run_check(defs, warehouse_url, r.table, "rows_match_sync_log").passed for r in DAILY_REPORTS
    )


def test_each_tampering_fails_the_blocking_check_of_its_table_alone(make_simulator, warehouse_url):
    sim = make_simulator(sites=(SMALL_SITE,))
    day = today_pacific() - dt.timedelta(days=5)
    names = ",".join(r.name for r in DAILY_REPORTS)
    defs = build_definitions(env_for(sim, warehouse_url, GSC_REPORTS=names))
    assert run(defs, [r.table for r in DAILY_REPORTS], day).success
    assert all_pass(defs, warehouse_url)
    engine = make_engine(warehouse_url)
    tamperings = [
        (BUILTIN_BY_NAME["site"], "clicks", 1000.0),  # site totals were only counted before
        (BUILTIN_BY_NAME["page_query"], "clicks", 3.0),  # query rows were only bounded "at most"
        *((report, "impressions", 1.0) for report in DAILY_REPORTS),
    ]
    for report, metric, delta in tamperings:
        change_one_row(engine, report, metric, delta)
        assert_caught(defs, warehouse_url, report.table, day, metric, delta)
        others = [r for r in DAILY_REPORTS if r is not report]
        assert all(
            run_check(defs, warehouse_url, r.table, "rows_match_sync_log").passed for r in others
        ), report.name
        change_one_row(engine, report, metric, -delta)  # undone: the check passes again
        assert run_check(defs, warehouse_url, report.table, "rows_match_sync_log").passed
    engine.dispose()
