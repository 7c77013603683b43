"""The sync assets, materialized through Dagster against the simulator over HTTP, on SQLite and
Postgres.

Contract: after a materialization the daily tables hold exactly the rows the API serves for the
partition's dates (every site), re-materializing replaces them (no duplicates, no stale rows), a
permanent API error fails the run and writes nothing, and the lifetime table equals a full
recomputation.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates, materialize_unpartitioned
from gsc_assets.reports.catalogue import CORE_REPORTS, PAGE_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.reliability.harness import expected_rows
from gsc_assets_tests.warehouse.lifetime_oracle import lifetime_matches_full_recompute

SYNC_TABLES = [report.table for report in CORE_REPORTS]


def env_for(simulator, warehouse_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "GSC_API_BASE_URL": simulator.base_url,
        "GSC_ACCESS_TOKEN": "sim-token",
        "GSC_SITES": ",".join(simulator.sites),
        "GSC_DATABASE_URL": warehouse_url,
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (today_pacific() - dt.timedelta(days=40)).isoformat(),
        "GSC_MAX_CONCURRENCY": "4",
    }
    env.update(overrides)
    return env


def materialize(env: dict[str, str], first: dt.date, last: dt.date, tables=SYNC_TABLES):
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_dates(build_definitions(env), tables, first, last, instance=instance)


def stored_rows(engine: sa.Engine, table: str, site: str, date: dt.date) -> list[tuple]:
    """Rows in the API's tuple shape: (date, *dimension keys, clicks, impressions, ctr,
    position)."""
    report = next(r for r in CORE_REPORTS if r.table == table)
    columns = [
        "date",
        *(d.value for d in report.dimensions),
        "clicks",
        "impressions",
        "ctr",
        "position",
    ]
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                f"select {', '.join(columns)} from {table} "
                "where site_url = :site and date = :date and search_type = 'web'"
            ),
            {"site": site, "date": date},
        )
        return sorted(
            (str(row[0]), *row[1:-4], row[-4], row[-3], row[-2], row[-1]) for row in result
        )


def expected(simulator, table: str, site: str, date: dt.date) -> list[tuple]:
    """The simulator's final web rows of a core table's day, sorted like `stored_rows`."""
    return expected_rows(simulator, table, site, date)


def assert_exact(simulator, engine, first: dt.date, last: dt.date) -> int:
    total = 0
    day = first
    while day <= last:
        for table in SYNC_TABLES:
            for site in simulator.sites:
                want = expected(simulator, table, site, day)
                got = stored_rows(engine, table, site, day)
                assert got == want, (table, site, day)
                total += len(got)
        day += dt.timedelta(days=1)
    return total


@pytest.fixture
def dates():
    last = today_pacific() - dt.timedelta(days=5)
    return last - dt.timedelta(days=1), last


def test_sync_assets_store_exactly_what_the_api_serves(simulator, warehouse_url, dates):
    first, last = dates
    result = materialize(env_for(simulator, warehouse_url), first, last)
    assert result.success
    engine = make_engine(warehouse_url)
    total = assert_exact(simulator, engine, first, last)
    assert total > 1000
    page_metadata = result.asset_materializations_for_node(PAGE_REPORT.table)[0].metadata
    with engine.connect() as conn:
        stored_pages = conn.execute(sa.text("select count(*) from gsc_page_daily")).scalar_one()
    assert page_metadata["run_rows"].value == stored_pages  # rows stored, not rows fetched
    assert page_metadata["run_requests"].value >= 2 * len(simulator.sites)
    engine.dispose()


def test_each_date_of_a_multi_date_run_records_its_own_numbers(simulator, warehouse_url):
    # One run of three dates: each partition's materialization holds that date's rows (= what
    # the table stores for it), requests and finality, so the UI's plots show each date.
    last = today_pacific() - dt.timedelta(days=5)
    first = last - dt.timedelta(days=2)
    result = materialize(env_for(simulator, warehouse_url), first, last)
    assert result.success
    engine = make_engine(warehouse_url)
    for table in SYNC_TABLES:
        materializations = result.asset_materializations_for_node(table)
        assert [m.partition for m in materializations] == [
            (first + dt.timedelta(days=i)).isoformat() for i in range(3)
        ]
        with engine.connect() as conn:
            stored = dict(
                conn.execute(sa.text(f"select date, count(*) from {table} group by date")).all()
            )
        stored = {str(date)[:10]: count for date, count in stored.items()}
        if table != "gsc_site_daily":  # one row per site and date there
            assert len(set(stored.values())) > 1  # dates differ: a run total would show
        for materialization in materializations:
            metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            assert metadata["rows"] == metadata["dagster/row_count"]
            assert metadata["rows"] == stored[materialization.partition]
            assert metadata["final"] is True
            assert metadata["slices"] == len(simulator.sites)
            assert metadata["requests"] <= metadata["run_requests"]
            assert metadata["run_rows"] == sum(stored.values())
    engine.dispose()


def test_rematerializing_after_the_data_changed_leaves_exactly_the_new_rows(
    make_simulator, warehouse_url, dates
):
    sim = make_simulator()
    first, last = dates
    env = env_for(sim, warehouse_url)
    assert materialize(env, first, last).success
    for site in sim.sites:
        sim.mutate_day(site, last, "web")
    assert materialize(env, first, last).success
    engine = make_engine(warehouse_url)
    assert_exact(sim, engine, first, last)
    with engine.connect() as conn:
        duplicates = conn.execute(
            sa.text(
                "select count(*) from (select site_url, date, search_type, page, query "
                "from gsc_page_query_daily group by 1, 2, 3, 4, 5 having count(*) > 1) d"
            )
        ).scalar_one()
    assert duplicates == 0
    engine.dispose()


def test_permission_denied_fails_the_run_and_writes_nothing(simulator, warehouse_url, dates):
    first, last = dates
    env = env_for(simulator, warehouse_url, GSC_SITES="https://not-registered.example.com/")
    result = materialize(env, first, last, tables=[PAGE_REPORT.table])
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    message = failure.to_string()
    assert "sufficient permission" in message
    assert "https://not-registered.example.com/" in message
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from gsc_page_daily")).scalar_one() == 0
    engine.dispose()


def test_lifetime_asset_equals_a_full_recomputation(simulator, warehouse_url, dates):
    first, last = dates
    env = env_for(simulator, warehouse_url)
    assert materialize(env, first, last, tables=[PAGE_REPORT.table]).success
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_unpartitioned(
            build_definitions(env), ["gsc_page_lifetime"], instance=instance
        )
    assert result.success
    engine = make_engine(warehouse_url)
    assert lifetime_matches_full_recompute(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from gsc_page_lifetime")).scalar_one() > 0
    engine.dispose()
