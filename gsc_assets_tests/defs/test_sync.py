"""Sync semantics through Dagster against the simulator: search types, finality, lifetime.

Contract: all six search types sync exactly what the API serves (no position for discover and
googleNews, no query report for them); asking explicitly for an unsupported combination fails
before any request; data fetched while Search Console calls it incomplete is marked non-final
and replaced by final data later; the lifetime table equals a full recomputation after any
sequence of backfills, re-materializations and restated days.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates, materialize_unpartitioned
from gsc_assets.reports.catalogue import BUILTIN_BY_NAME, PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.reports.limits import FINAL_AFTER_DAYS, today_pacific
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.sync.daily import UnsupportedCombinationError, sync_report
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.sync_log import latest_syncs, non_final_dates
from gsc_assets_tests.defs.test_assets import env_for
from gsc_assets_tests.defs.test_checks import SMALL_SITE
from gsc_assets_tests.warehouse.lifetime_oracle import lifetime_matches_full_recompute

ALL_TYPES = [t.value for t in SearchType]


def rows_of(engine, table: str, columns: list[str], search_type: str, day: dt.date) -> list[tuple]:
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                f"select {', '.join(columns)} from {table} where search_type = :t and date = :d"
            ),
            {"t": search_type, "d": day},
        )
        return sorted(tuple(row) for row in result)


def test_all_six_search_types_sync_exactly(simulator, warehouse_url):
    day = today_pacific() - dt.timedelta(days=5)
    env = env_for(
        simulator,
        warehouse_url,
        GSC_SITES=SMALL_SITE.site_url,
        GSC_SEARCH_TYPES=",".join(ALL_TYPES),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(
            build_definitions(env),
            [PAGE_REPORT.table, PAGE_QUERY_REPORT.table],
            day,
            day,
            instance=instance,
        )
    assert result.success
    engine = make_engine(warehouse_url)
    for search_type in ALL_TYPES:
        want = sorted(
            (row[1], *row[-4:])
            for row in simulator.expected_rows(
                SMALL_SITE.site_url, day, search_type, ["date", "page"], "byPage"
            )
        )
        got = rows_of(
            engine,
            "gsc_page_daily",
            ["page", "clicks", "impressions", "ctr", "position"],
            search_type,
            day,
        )
        assert got == want and got, search_type
        positions = {row[-1] for row in got}
        if search_type in ("discover", "googleNews"):
            assert positions == {None}
            assert rows_of(engine, "gsc_page_query_daily", ["page"], search_type, day) == []
        else:
            assert None not in positions
            assert rows_of(engine, "gsc_page_query_daily", ["page"], search_type, day)
    engine.dispose()


def test_an_explicitly_unsupported_combination_fails_before_any_request(make_simulator, tmp_path):
    sim = make_simulator()
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with pytest.raises(UnsupportedCombinationError, match="'discover' does not support"):
        sync_report(
            None,  # never reached: the combination is refused first
            engine,
            PAGE_QUERY_REPORT,
            [today_pacific() - dt.timedelta(days=5)],
            sites=[SMALL_SITE.site_url],
            search_types=[SearchType.WEB, SearchType.DISCOVER],
            data_state=DataState.FINAL,
        )
    assert sim.stats()["requests_total"] == 0
    engine.dispose()


def test_fresh_data_is_non_final_until_refetched_final(make_simulator, warehouse_url):
    sim_today = today_pacific() - dt.timedelta(days=5)
    sim = make_simulator(sites=(SMALL_SITE,), today=sim_today)
    day = sim_today - dt.timedelta(days=1)  # inside Search Console's incomplete window
    env = env_for(sim, warehouse_url, GSC_DATA_STATE="all")
    defs = build_definitions(env)
    engine = make_engine(warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        first = materialize_dates(defs, [PAGE_REPORT.table], day, day, instance=instance)
        assert first.success
        metadata = first.asset_materializations_for_node(PAGE_REPORT.table)[0].metadata
        assert metadata["final"].value is False
        assert metadata["non_final_dates"].value == [day.isoformat()]
        [record] = latest_syncs(engine, report=PAGE_REPORT, date=day)
        assert not record.is_final and record.data_state == "all"
        fresh_clicks = (
            engine.connect().execute(sa.text("select sum(clicks) from gsc_page_daily")).scalar_one()
        )
        sim.configure(today=sim_today + dt.timedelta(days=3))
        second = materialize_dates(defs, [PAGE_REPORT.table], day, day, instance=instance)
    assert second.success
    assert second.asset_materializations_for_node(PAGE_REPORT.table)[0].metadata["final"].value
    [record] = latest_syncs(engine, report=PAGE_REPORT, date=day)
    assert record.is_final
    final_rows = sim.expected_rows(SMALL_SITE.site_url, day, "web", ["date", "page"], "byPage")
    want = sorted((row[1], row[-4]) for row in final_rows)
    assert rows_of(engine, "gsc_page_daily", ["page", "clicks"], "web", day) == want
    assert sum(row[-4] for row in final_rows) > fresh_clicks  # values were replaced, not kept
    engine.dispose()


def test_lifetime_equals_a_full_recomputation_after_backfills_reruns_and_restated_days(
    make_simulator, warehouse_url
):
    sim = make_simulator(sites=(SMALL_SITE,))
    last = today_pacific() - dt.timedelta(days=5)
    env = env_for(sim, warehouse_url)
    defs = build_definitions(env)
    engine = make_engine(warehouse_url)
    page = [PAGE_REPORT.table]
    steps = [
        (last - dt.timedelta(days=2), last),  # backfill three days
        (last, last),  # re-materialize one, unchanged
        (last - dt.timedelta(days=1), last - dt.timedelta(days=1)),  # after the day is restated
        (last - dt.timedelta(days=6), last - dt.timedelta(days=5)),  # an older backfill
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        for index, (first, end) in enumerate(steps):
            if index == 2:
                sim.mutate_day(SMALL_SITE.site_url, first, "web")
            assert materialize_dates(defs, page, first, end, instance=instance).success
            lifetime = materialize_unpartitioned(defs, ["gsc_page_lifetime"], instance=instance)
            assert lifetime.success
            assert lifetime_matches_full_recompute(engine) == [], index
    with engine.connect() as conn:
        pages = conn.execute(sa.text("select count(*) from gsc_page_lifetime")).scalar_one()
    assert pages > 0
    engine.dispose()


def stored(engine, report, site: str, search_type: str, day: dt.date) -> list[tuple]:
    """A report's stored rows for one slice in the API's key order, without the date."""
    columns = [*(d.value for d in report.dimensions), "clicks", "impressions", "ctr", "position"]
    columns = ["search_appearance" if c == "searchAppearance" else c for c in columns]
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                f"select {', '.join(columns)} from {report.table} "
                "where site_url = :s and search_type = :t and date = :d"
            ),
            {"s": site, "t": search_type, "d": day},
        )
        return sorted(tuple(row) for row in result)


def google_answer(sim, report, site: str, search_type: str, day: dt.date) -> list[tuple]:
    """What Google answers for the report's day, in the form valid under every reading."""
    dims = [d.value for d in report.request_dimensions]
    rows = sim.expected_rows(site, day, search_type, dims, report.aggregation_type.value)
    return sorted(tuple(row[1:]) if dims[:1] == ["date"] else tuple(row) for row in rows)


def test_all_six_types_with_the_default_reports_and_search_appearance_sync_exactly(
    simulator, warehouse_url
):
    day = today_pacific() - dt.timedelta(days=5)
    reports = [BUILTIN_BY_NAME[n] for n in ("site", "page", "page_query", "search_appearance")]
    env = env_for(
        simulator,
        warehouse_url,
        GSC_SITES=SMALL_SITE.site_url,
        GSC_SEARCH_TYPES=",".join(ALL_TYPES),
        GSC_REPORTS=",".join(r.name for r in reports),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(
            build_definitions(env), [r.table for r in reports], day, day, instance=instance
        )
    assert result.success
    engine = make_engine(warehouse_url)
    site = SMALL_SITE.site_url
    for report in reports:
        logged = {r.search_type: r for r in latest_syncs(engine, report=report, date=day)}
        assert set(logged) == set(ALL_TYPES), report.name  # every type recorded, one way or other
        for search_type in ALL_TYPES:
            offered = not report.refused_by_google(SearchType.parse(search_type))
            got = stored(engine, report, site, search_type, day)
            if offered:
                assert got == google_answer(simulator, report, site, search_type, day)
                assert got, (report.name, search_type)
                assert logged[search_type].status == "synced"
            else:
                assert got == [] and logged[search_type].status == "not_offered"
                assert logged[search_type].requests == 0
    not_offered = {
        (name, t)
        for name in ("site", "page", "page_query", "search_appearance")
        for t, r in {r.search_type: r for r in latest_syncs(engine, report=name)}.items()
        if r.status == "not_offered"
    }
    assert not_offered == {
        ("site", "googleNews"),
        ("page_query", "discover"),
        ("page_query", "googleNews"),
        ("search_appearance", "googleNews"),
    }
    engine.dispose()


def test_search_appearance_is_googles_one_day_answer_grouped_by_appearance_alone(
    simulator, warehouse_url
):
    day = today_pacific() - dt.timedelta(days=6)
    report = BUILTIN_BY_NAME["search_appearance"]
    assert [d.value for d in report.request_dimensions] == ["searchAppearance"]
    env = env_for(simulator, warehouse_url, GSC_REPORTS="search_appearance")
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(
            build_definitions(env), [report.table], day, day, instance=instance
        )
    assert result.success
    engine = make_engine(warehouse_url)
    for site in simulator.sites:
        want = sorted(
            tuple(row)
            for row in simulator.expected_rows(site, day, "web", ["searchAppearance"], "byProperty")
        )
        assert want and stored(engine, report, site, "web", day) == want
    engine.dispose()


def test_a_date_with_nothing_published_is_non_final_until_google_says_otherwise(
    make_simulator, warehouse_url
):
    today = today_pacific()
    # Early in the day: nothing of today is published yet (no rows, no metadata).
    sim = make_simulator(sites=(SMALL_SITE,), hour=2, fresh_publish_hour=6)
    env = env_for(
        sim,
        warehouse_url,
        GSC_DATA_STATE="all",
        GSC_START_DATE=(today - dt.timedelta(days=10)).isoformat(),
    )
    defs = build_definitions(env)
    engine = make_engine(warehouse_url)
    tables = [PAGE_REPORT.table, BUILTIN_BY_NAME["site"].table]
    with dg.DagsterInstance.ephemeral() as instance:
        empty = materialize_dates(defs, tables, today, today, instance=instance)
        assert empty.success
        for record in latest_syncs(engine, date=today):
            assert (record.rows_fetched, record.is_final) == (0, False), record.report
        assert today in non_final_dates(engine)  # stays in the schedule's window
        sim.configure(hour=10)  # published, still fresh
        fresh = materialize_dates(defs, tables, today, today, instance=instance)
        assert fresh.success
        for record in latest_syncs(engine, date=today):
            assert record.rows_fetched > 0 and not record.is_final, record.report
        # Google's clock moves on: more than FINAL_AFTER_DAYS later, a one-day answer (which
        # carries no metadata once the date is complete) is final by its age on that clock.
        sim.configure(today=today + dt.timedelta(days=FINAL_AFTER_DAYS + 1))
        final = materialize_dates(defs, tables, today, today, instance=instance)
    assert final.success
    for record in latest_syncs(engine, date=today):
        assert record.is_final, record.report
    assert today not in non_final_dates(engine)
    want = sim.expected_rows(SMALL_SITE.site_url, today, "web", ["date", "page"], "byPage")
    assert rows_of(engine, "gsc_page_daily", ["page", "clicks"], "web", today) == sorted(
        (row[1], row[-4]) for row in want
    )
    engine.dispose()


def test_a_refused_request_stops_the_run_naming_the_slice_and_keeps_earlier_dates(
    make_simulator, warehouse_url
):
    last = today_pacific() - dt.timedelta(days=5)
    first, refused = last - dt.timedelta(days=2), last - dt.timedelta(days=1)
    sim = make_simulator(sites=(SMALL_SITE,), refuse_dates=(refused,))
    env = env_for(sim, warehouse_url, GSC_MAX_CONCURRENCY="1")
    with dg.DagsterInstance.ephemeral() as instance:
        # An earlier run wrote `first`; the range run's packed totals request (one for the
        # three dates) is refused before any date of it is whole, so none of them is written.
        earlier = materialize_dates(
            build_definitions(env), [PAGE_REPORT.table], first, first, instance=instance
        )
        assert earlier.success
        result = materialize_dates(
            build_definitions(env), [PAGE_REPORT.table], first, last, instance=instance
        )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error.to_string())
    assert SMALL_SITE.site_url in message and refused.isoformat() in message
    assert "simulated refusal" in message  # Google's words
    assert "will fail the same way every time" in message  # and what to do
    engine = make_engine(warehouse_url)
    synced = [(r.date, r.run_id) for r in latest_syncs(engine, report=PAGE_REPORT)]
    assert synced == [(first, earlier.run_id)]  # the earlier version stays, whole and exact
    want = sim.expected_rows(SMALL_SITE.site_url, first, "web", ["date", "page"], "byPage")
    assert rows_of(engine, "gsc_page_daily", ["page", "clicks"], "web", first) == sorted(
        (row[1], row[-4]) for row in want
    )
    engine.dispose()
