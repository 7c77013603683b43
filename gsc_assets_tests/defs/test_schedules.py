"""`gsc_daily_schedule`, evaluated as the daemon does (`evaluate_tick`) at fixed Pacific times.

Contract: every tick requests one run per configured site, tagged `gsc/site=<site>`, over the
late-data window (4 days ago .. the newest day Search Console serves, extended back to that site's
oldest partition the sync log still marks non-final), with a run key per (tick date, site) that a
second evaluation repeats exactly; before GSC_START_DATE has a partition the tick skips. The run a
request describes materializes the window's partitions of that site only, then the lifetime stats.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.assets import SITE_TAG
from gsc_assets.defs.schedules import RANGE_END_TAG, RANGE_START_TAG
from gsc_assets.reports.catalogue import CORE_REPORTS, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.limits import PACIFIC, today_pacific
from gsc_assets.warehouse.engine import create_schema, make_engine
from gsc_assets.warehouse.frames import read_table
from gsc_assets.warehouse.schema import gsc_sync_log

SITES = ("https://www.example.com/", "sc-domain:example.org")
TICK_DAY = dt.date(2026, 3, 10)


def make_defs(tmp_path: Path, **overrides: str) -> dg.Definitions:
    env = {
        "GSC_SITES": ",".join(SITES),
        "GSC_DATABASE_URL": f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        "GSC_START_DATE": "2026-01-01",
    }
    env.update(overrides)
    return build_definitions(env)


def evaluate(defs: dg.Definitions, day: dt.date) -> dg.ScheduleExecutionData:
    """The tick the daemon evaluates at 06:00 Pacific on `day`."""
    schedule = defs.resolve_schedule_def("gsc_daily_schedule")
    tick_time = dt.datetime.combine(day, dt.time(6, 0), tzinfo=PACIFIC)
    with dg.build_schedule_context(scheduled_execution_time=tick_time) as context:
        return schedule.evaluate_tick(context)


def windows_by_site(data: dg.ScheduleExecutionData) -> dict[str | None, tuple[str, str]]:
    return {
        request.tags.get(SITE_TAG): (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG])
        for request in data.run_requests
    }


def add_sync(engine: sa.Engine, site: str, date: dt.date, *, is_final: bool, at: dt.datetime):
    with engine.begin() as conn:
        conn.execute(
            gsc_sync_log.insert().values(
                site_url=site,
                date=date,
                search_type="web",
                report=PAGE_REPORT.name,
                rows_fetched=1,
                rows_stored=1,
                requests=1,
                retries=0,
                pages=1,
                data_state="all",
                is_final=is_final,
                truncated=False,
                synced_at=at,
            )
        )


def test_schedule_requests_one_run_per_site_over_the_late_data_window(tmp_path):
    data = evaluate(make_defs(tmp_path), TICK_DAY)

    assert data.skip_message is None
    assert windows_by_site(data) == {
        SITES[0]: ("2026-03-06", "2026-03-09"),
        SITES[1]: ("2026-03-06", "2026-03-09"),
    }
    assert all(request.job_name in (None, "gsc_sync_job") for request in data.run_requests)


def test_schedule_window_ends_three_days_ago_for_final_data(tmp_path):
    data = evaluate(make_defs(tmp_path, GSC_DATA_STATE="final"), TICK_DAY)

    assert set(windows_by_site(data).values()) == {("2026-03-06", "2026-03-07")}


def test_schedule_run_keys_are_per_site_per_day_and_stable_across_evaluations(tmp_path):
    defs = make_defs(tmp_path)

    first = evaluate(defs, TICK_DAY)
    again = evaluate(defs, TICK_DAY)
    next_day = evaluate(defs, TICK_DAY + dt.timedelta(days=1))

    keys = [request.run_key for request in first.run_requests]
    assert len(set(keys)) == len(SITES)
    assert keys == [request.run_key for request in again.run_requests]
    assert [r.tags for r in first.run_requests] == [r.tags for r in again.run_requests]
    assert not set(keys) & {request.run_key for request in next_day.run_requests}


def test_schedule_extends_a_sites_window_to_its_oldest_non_final_partition(tmp_path):
    defs = make_defs(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    create_schema(engine)
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    add_sync(engine, SITES[0], dt.date(2026, 2, 27), is_final=False, at=t0)
    add_sync(engine, SITES[0], dt.date(2026, 2, 20), is_final=False, at=t0)
    # Re-fetched later and final by then: no longer holds the window open.
    add_sync(engine, SITES[0], dt.date(2026, 2, 20), is_final=True, at=t0 + dt.timedelta(days=1))
    add_sync(engine, SITES[1], dt.date(2026, 2, 15), is_final=True, at=t0)
    engine.dispose()

    data = evaluate(defs, TICK_DAY)

    assert windows_by_site(data) == {
        SITES[0]: ("2026-02-27", "2026-03-09"),
        SITES[1]: ("2026-03-06", "2026-03-09"),
    }


def test_schedule_skips_until_the_start_date_has_a_partition(tmp_path):
    defs = make_defs(tmp_path, GSC_START_DATE="2026-03-10")

    before = evaluate(defs, dt.date(2026, 3, 10))
    first_day = evaluate(defs, dt.date(2026, 3, 11))

    assert before.run_requests == []
    assert "GSC_START_DATE (2026-03-10)" in (before.skip_message or "")
    assert set(windows_by_site(first_day).values()) == {("2026-03-10", "2026-03-10")}


def test_schedule_without_sites_requests_one_untagged_run(tmp_path):
    data = evaluate(make_defs(tmp_path, GSC_SITES=""), TICK_DAY)

    assert windows_by_site(data) == {None: ("2026-03-06", "2026-03-09")}


def test_scheduled_run_materializes_its_sites_window_then_the_lifetime_stats(simulator, tmp_path):
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    today = today_pacific()
    defs = build_definitions(
        {
            "GSC_API_BASE_URL": simulator.base_url,
            "GSC_ACCESS_TOKEN": "sim-token",
            "GSC_SITES": ",".join(simulator.sites),
            "GSC_DATABASE_URL": warehouse_url,
            "GSC_START_DATE": (today - dt.timedelta(days=30)).isoformat(),
            "GSC_MAX_CONCURRENCY": "4",
        }
    )
    site, other_site = simulator.sites
    request = next(r for r in evaluate(defs, today).run_requests if r.tags[SITE_TAG] == site)
    window = [today - dt.timedelta(days=n) for n in range(4, 0, -1)]

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("gsc_sync_job").execute_in_process(
            instance=instance, tags=request.tags
        )
        assert result.success
        for report in CORE_REPORTS:
            assert instance.get_materialized_partitions(dg.AssetKey(report.table)) == {
                day.isoformat() for day in window
            }
        assert instance.get_latest_materialization_event(dg.AssetKey("gsc_page_lifetime"))

    engine = make_engine(warehouse_url)
    for day in window:
        for report in (SITE_REPORT, PAGE_REPORT):
            expected = simulator.expected_rows(
                site,
                day,
                "web",
                [d.value for d in report.request_dimensions],
                report.aggregation_type.value,
                "all",
            )
            assert len(read_table(engine, report.table, site_url=site, date=day)) == len(expected)
    assert read_table(engine, PAGE_REPORT.table, site_url=other_site).empty
    lifetime = read_table(engine, "gsc_page_lifetime")
    assert set(lifetime["site_url"]) == {site}
    engine.dispose()
