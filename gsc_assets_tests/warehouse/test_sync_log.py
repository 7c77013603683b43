"""Contract of the sync log: every replaced slice appends one row in the same transaction; the
latest row per (site, date, search type, report) is the current state; history is kept.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.limits import MAX_ROWS_PER_DAY
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.warehouse.schema import gsc_sync_log
from gsc_assets.warehouse.sync_log import (
    latest_syncs,
    non_final_dates,
    sync_log_values,
    synced_dates,
)
from gsc_assets.warehouse.writes import replace_partition

SITE = "https://www.example.com/"
DAY = dt.date(2024, 1, 3)


def site_batch(day: dt.date = DAY, search_type=SearchType.WEB, **kwargs) -> ReportData:
    rows = [(day.isoformat(), 5.0, 50.0, 0.1, 3.0)]
    return ReportData(DaySlice(SITE, day, search_type), SITE_REPORT, rows, **kwargs)


def test_replace_partition_appends_a_complete_sync_record(warehouse_engine):
    batch = site_batch(
        requests=3,
        retries=1,
        throttled=1,
        pages=2,
        data_state=DataState.ALL,
        first_incomplete_date=DAY,
    )
    replace_partition(warehouse_engine, SITE_REPORT, [batch], run_id="run-7")

    [record] = latest_syncs(warehouse_engine)

    assert (record.site_url, record.date, record.search_type, record.report) == (
        SITE,
        DAY,
        "web",
        "site",
    )
    assert (
        record.rows_fetched,
        record.rows_stored,
        record.requests,
        record.retries,
        record.pages,
    ) == (1, 1, 3, 1, 2)
    assert (record.data_state, record.is_final, record.first_incomplete_date) == ("all", False, DAY)
    assert (record.truncated, record.run_id, record.throttled) == (False, "run-7", 1)
    assert record.synced_at.tzinfo is not None
    assert abs(record.synced_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_latest_syncs_returns_the_latest_entry_per_key(warehouse_engine):
    replace_partition(
        warehouse_engine,
        SITE_REPORT,
        [site_batch(), site_batch(DAY + dt.timedelta(1))],
        run_id="r1",
    )
    replace_partition(warehouse_engine, SITE_REPORT, [site_batch()], run_id="r2")
    replace_partition(
        warehouse_engine, SITE_REPORT, [site_batch(search_type=SearchType.GOOGLE_NEWS)], run_id="r3"
    )

    records = latest_syncs(warehouse_engine)

    assert [(r.date, r.search_type, r.run_id) for r in records] == [
        (DAY, "googleNews", "r3"),
        (DAY, "web", "r2"),
        (DAY + dt.timedelta(1), "web", "r1"),
    ]
    with warehouse_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(gsc_sync_log)).scalar_one() == 4


def test_latest_syncs_filters_by_each_key_part(warehouse_engine):
    replace_partition(
        warehouse_engine,
        SITE_REPORT,
        [site_batch(), site_batch(search_type=SearchType.GOOGLE_NEWS)],
    )

    assert [r.search_type for r in latest_syncs(warehouse_engine, search_type="GOOGLE_NEWS")] == [
        "googleNews"
    ]
    assert len(latest_syncs(warehouse_engine, site_url=SITE, date=DAY, report=SITE_REPORT)) == 2
    assert latest_syncs(warehouse_engine, report="page") == []
    assert latest_syncs(warehouse_engine, site_url="sc-domain:other.org") == []


def test_non_final_dates_follow_the_latest_sync(warehouse_engine):
    fresh = {"data_state": DataState.ALL, "first_incomplete_date": DAY}
    replace_partition(
        warehouse_engine,
        SITE_REPORT,
        [site_batch(**fresh), site_batch(DAY + dt.timedelta(1), **fresh)],
    )
    assert non_final_dates(warehouse_engine) == [DAY, DAY + dt.timedelta(1)]

    replace_partition(warehouse_engine, SITE_REPORT, [site_batch()])

    assert non_final_dates(warehouse_engine, site_url=SITE, report="site") == [
        DAY + dt.timedelta(1)
    ]


def test_synced_dates_lists_every_date_written_once(warehouse_engine):
    for offset in (2, 0, 2):
        replace_partition(warehouse_engine, SITE_REPORT, [site_batch(DAY + dt.timedelta(offset))])

    assert synced_dates(warehouse_engine, SITE, SearchType.WEB, SITE_REPORT) == [
        DAY,
        DAY + dt.timedelta(2),
    ]
    assert synced_dates(warehouse_engine, SITE, "image", "site") == []


def test_sync_log_values_flags_a_truncated_day():
    rows = [(DAY.isoformat(), "/a", 1.0, 1.0, 1.0, 1.0)] * MAX_ROWS_PER_DAY
    values = sync_log_values(
        ReportData(DaySlice(SITE, DAY), PAGE_REPORT, rows), MAX_ROWS_PER_DAY, None
    )

    assert values["truncated"] is True
    assert values["rows_fetched"] == MAX_ROWS_PER_DAY


def test_each_sync_records_the_count_and_metric_sums_it_fetched(warehouse_engine):
    rows = [
        (DAY.isoformat(), "/a", 2.0, 20.0, 0.1, 3.0),
        (DAY.isoformat(), "/b", 1.0, 4.0, 0.25, None),
    ]
    replace_partition(
        warehouse_engine, PAGE_REPORT, [ReportData(DaySlice(SITE, DAY), PAGE_REPORT, rows)]
    )
    [record] = latest_syncs(warehouse_engine)
    assert (record.rows_fetched, record.status) == (2, "synced")
    assert (record.sum_clicks, record.sum_impressions, record.sum_ctr, record.sum_position) == (
        3.0,
        24.0,
        0.35,
        3.0,
    )


def test_a_slice_google_does_not_offer_is_logged_final_without_rows(warehouse_engine):
    batch = site_batch(search_type=SearchType.GOOGLE_NEWS, offered=False)
    batch.rows = []
    replace_partition(warehouse_engine, SITE_REPORT, [batch])
    [record] = latest_syncs(warehouse_engine)
    assert (record.status, record.rows_fetched, record.requests, record.is_final) == (
        "not_offered",
        0,
        0,
        True,
    )


def test_an_older_sync_log_gains_the_new_columns_and_keeps_its_rows(warehouse_url):
    from gsc_assets.warehouse.engine import create_schema, make_engine

    engine = make_engine(warehouse_url)
    old_columns = [c for c in gsc_sync_log.columns if not c.name.startswith("sum_")]
    old_columns = [c for c in old_columns if c.name != "status"]
    old = sa.Table("gsc_sync_log", sa.MetaData(), *(c._copy() for c in old_columns))
    old.create(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(old), sync_log_values(site_batch(), 1, "old-run"))
    create_schema(engine)
    create_schema(engine)  # idempotent
    [record] = latest_syncs(engine)
    assert record.run_id == "old-run" and record.status is None and record.sum_clicks is None
    replace_partition(engine, SITE_REPORT, [site_batch()])
    [record] = latest_syncs(engine)
    assert (record.status, record.sum_clicks) == ("synced", 5.0)
    engine.dispose()
