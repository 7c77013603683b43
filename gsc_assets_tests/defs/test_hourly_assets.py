"""The opt-in hourly assets through Dagster against the simulator over HTTP.

Contract: `gsc_site_hourly` / `gsc_page_hourly` exist only when GSC_REPORTS names them; a run
stores exactly the hourly rows the API serves for each of the last 10 days, with `is_complete`
false from metadata.first_incomplete_hour on; final days' hours sum to the daily totals; a
second run re-fetches only the days not yet complete.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.hourly import HOURLY_JOB_NAME, HOURLY_WINDOW_DAYS
from gsc_assets.reports.limits import today_pacific
from gsc_assets.simulator.freshness import PACIFIC
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import env_for

SITE_HOURLY, PAGE_HOURLY = "gsc_site_hourly", "gsc_page_hourly"


def run_hourly(env):
    defs = build_definitions(env)
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def(HOURLY_JOB_NAME).execute_in_process(instance=instance)


def stored(engine, table, site, date, columns):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"select {', '.join(columns)} from {table} "
                "where site_url = :site and date = :date and search_type = 'web'"
            ),
            {"site": site, "date": date},
        )
        return sorted(tuple(row) for row in rows)


def test_hourly_assets_exist_only_when_chosen(simulator, tmp_path):
    env = env_for(simulator, f"sqlite:///{tmp_path / 'w.sqlite'}")
    keys = {k.to_user_string() for k in build_definitions(env).resolve_all_asset_keys()}
    assert SITE_HOURLY not in keys
    env["GSC_REPORTS"] = "site,site_hourly,page_hourly"
    keys = {k.to_user_string() for k in build_definitions(env).resolve_all_asset_keys()}
    assert {SITE_HOURLY, PAGE_HOURLY, "gsc_site_daily"} <= keys


def test_hourly_rows_are_exact_flag_incomplete_hours_and_reconcile_once_final(
    make_simulator, tmp_path
):
    sim = make_simulator(hour=dt.datetime.now(PACIFIC).hour)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    env = env_for(sim, url, GSC_REPORTS="site_hourly,page_hourly")
    result = run_hourly(env)
    assert result.success
    today = today_pacific()
    site = sim.sites[1]
    engine = make_engine(url)
    first_incomplete = None
    for age in range(HOURLY_WINDOW_DAYS):
        date = today - dt.timedelta(days=age)
        want = sim.expected_rows(site, date, "web", ["hour"], "byProperty", "hourly_all")
        got = stored(
            engine,
            SITE_HOURLY,
            site,
            date,
            ["hour", "clicks", "impressions", "ctr", "position", "is_complete"],
        )
        assert [g[:5] for g in got] == sorted(want), date
        pages = sim.expected_rows(site, date, "web", ["hour", "page"], "byPage", "hourly_all")
        got_pages = stored(engine, PAGE_HOURLY, site, date, ["hour", "page", "clicks"])
        assert got_pages == sorted(r[:3] for r in pages), date
        incomplete = [g[0] for g in got if not g[5]]
        if incomplete:
            first_incomplete = min(incomplete, key=dt.datetime.fromisoformat)
    assert first_incomplete is not None  # today's hours are never complete
    final_day = today - dt.timedelta(days=4)
    hours = stored(engine, SITE_HOURLY, site, final_day, ["clicks", "impressions", "is_complete"])
    assert all(h[2] for h in hours)
    (total,) = sim.expected_rows(site, final_day, "web", ["date"], "byProperty", "final")
    assert (sum(h[0] for h in hours), sum(h[1] for h in hours)) == (total[1], total[2])
    first_requests = result.asset_materializations_for_node(SITE_HOURLY)[0].metadata["requests"]
    assert first_requests.value == HOURLY_WINDOW_DAYS * len(sim.sites)

    second = run_hourly(env)
    assert second.success
    again = second.asset_materializations_for_node(SITE_HOURLY)[0].metadata
    assert 0 < again["days"].value < HOURLY_WINDOW_DAYS * len(sim.sites)  # complete days skipped
    with engine.connect() as conn:
        duplicates = conn.execute(
            sa.text(
                "select count(*) from (select site_url, date, search_type, hour from "
                "gsc_site_hourly group by 1, 2, 3, 4 having count(*) > 1) d"
            )
        ).scalar()
    assert duplicates == 0
    engine.dispose()


def test_hourly_metadata_counts_rows_stored_like_daily_metadata(make_simulator, tmp_path):
    """One metadata builder for daily and hourly: `rows` is the rows stored, fetch telemetry's
    own row count is `fetched_rows`, and per-run numbers come from the sync, not the fetcher."""
    sim = make_simulator(hour=dt.datetime.now(PACIFIC).hour)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    result = run_hourly(env_for(sim, url, GSC_REPORTS="page_hourly"))
    assert result.success
    metadata = result.asset_materializations_for_node(PAGE_HOURLY)[0].metadata
    engine = make_engine(url)
    with engine.connect() as conn:
        stored_rows = conn.execute(sa.text("select count(*) from gsc_page_hourly")).scalar_one()
    engine.dispose()
    assert metadata["rows"].value == stored_rows > 0
    assert metadata["fetched_rows"].value >= stored_rows
    assert metadata["slices"].value == metadata["days"].value == HOURLY_WINDOW_DAYS * len(sim.sites)
