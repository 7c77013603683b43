"""Asset checks through Dagster, against the simulator over HTTP, on SQLite and Postgres.

Contract: on the simulator's (consistent) data every blocking check passes and the WARN checks
report what the data really holds (truncated days, URL variants, the hidden share of clicks);
when the simulator's totals disagree with its rows, the date is not published (the previous
version stays, the run fails with the numbers, lifetime stats see nothing); when the warehouse is
corrupted afterwards, the checks fail with the numbers they compared.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.resources import WarehouseResource
from gsc_assets.defs.runs import materialize_dates, materialize_unpartitioned
from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.reports.limits import MAX_ROWS_PER_DAY
from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.urls import variant_groups
from gsc_assets_tests.defs.test_assets import SYNC_TABLES, env_for, expected, stored_rows
from gsc_assets_tests.warehouse.lifetime_oracle import lifetime_matches_full_recompute

SMALL_SITE = DEFAULT_SITES[1]  # sc-domain:example.org: a few thousand rows a day


def run(defs: dg.Definitions, tables, day: dt.date) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_dates(defs, tables, day, day, instance=instance)


def evaluations(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def value(evaluation: dg.AssetCheckEvaluation, key: str):
    return evaluation.metadata[key].value


def corrupt_page_totals(sim, factor: float) -> None:
    """Make the simulator's byPage totals (dimensions [date]) disagree with its rows."""
    service = sim.app.service
    original = service.result

    def result(site_url, spec, today, *args, **kwargs):
        answer = original(site_url, spec, today, *args, **kwargs)
        if tuple(spec.dimensions) != ("date",) or spec.aggregation != "byPage":
            return answer
        rows = [(*row[:-4], row[-4] * factor, row[-3] * factor, *row[-2:]) for row in answer.rows]
        return dataclasses.replace(answer, rows=rows)

    service.result = result


@pytest.fixture
def day():
    return dg_today() - dt.timedelta(days=5)


def dg_today() -> dt.date:
    from gsc_assets.reports.limits import today_pacific

    return today_pacific()


def test_checks_pass_on_consistent_data_and_report_truncation_variants_and_hidden_share(
    simulator, warehouse_url, day
):
    result = run(build_definitions(env_for(simulator, warehouse_url)), SYNC_TABLES, day)
    assert result.success
    found = evaluations(result)
    warn_failures = {
        ("gsc_page_query_daily", "is_complete"),
        ("gsc_page_daily", "has_no_url_variants"),
    }
    for key, evaluation in found.items():
        assert value(evaluation, "partition_dates") == [day.isoformat()], key
        if key not in warn_failures:
            assert evaluation.passed, (key, evaluation.description)
    truncated_sites = [
        site
        for site in simulator.sites
        if len(expected(simulator, PAGE_QUERY_REPORT.table, site, day)) >= MAX_ROWS_PER_DAY
    ]
    assert truncated_sites == ["https://www.example.com/"]
    completeness = found[("gsc_page_query_daily", "is_complete")]
    assert not completeness.passed
    assert completeness.severity is dg.AssetCheckSeverity.WARN
    assert value(completeness, "truncated_slices") == len(truncated_sites)
    assert value(completeness, "lost_clicks") > 0
    within = found[("gsc_page_query_daily", "queries_within_page_totals")]
    api_clicks = sum(simulator.totals(s, day, "web", "byPage")[0] for s in simulator.sites)
    query_clicks = sum(
        row[-4]
        for site in simulator.sites
        for row in expected(simulator, PAGE_QUERY_REPORT.table, site, day)
    )
    assert value(within, "hidden_clicks_share") == pytest.approx(
        1 - query_clicks / api_clicks, abs=1e-6
    )
    variants = found[("gsc_page_daily", "has_no_url_variants")]
    expected_groups = sum(
        len(variant_groups(row[1] for row in expected(simulator, PAGE_REPORT.table, site, day)))
        for site in simulator.sites
    )
    assert expected_groups > 0
    assert value(variants, "variant_groups") == expected_groups
    assert not variants.passed and variants.severity is dg.AssetCheckSeverity.WARN
    pages = found[("gsc_page_daily", "pages_sum_to_page_totals")]
    assert value(pages, "slices_compared") == len(simulator.sites)
    assert value(pages, "api_clicks") == pytest.approx(api_clicks)


@pytest.mark.parametrize(
    ("report", "factor"),
    [(PAGE_REPORT, 1.5), (PAGE_QUERY_REPORT, 0.5)],
    ids=["pages-below-totals", "queries-above-totals"],
)
def test_a_failed_audit_keeps_the_previous_version_and_fails_the_run(
    make_simulator, warehouse_url, day, report, factor
):
    sim = make_simulator(sites=(SMALL_SITE,))
    env = env_for(sim, warehouse_url)
    defs = build_definitions(env)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_dates(defs, [report.table], day, day, instance=instance).success
        assert materialize_unpartitioned(defs, ["gsc_page_lifetime"], instance=instance).success
        engine = make_engine(warehouse_url)
        before = stored_rows(engine, report.table, SMALL_SITE.site_url, day)
        sim.mutate_day(SMALL_SITE.site_url, day, "web")
        corrupt_page_totals(sim, factor)
        result = materialize_dates(defs, [report.table], day, day, instance=instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert "not published (previous version kept)" in failure.error.message
    numbers = failure.user_failure_data.metadata
    assert numbers["date"].value == day.isoformat()
    check = "pages_sum_to_page_totals" if report is PAGE_REPORT else "queries_within_page_totals"
    assert numbers[f"{check}.slices_compared"].value == 1
    stored_clicks = sum(row[-4] for row in expected(sim, report.table, SMALL_SITE.site_url, day))
    true_clicks = sim.totals(SMALL_SITE.site_url, day, "web", "byPage")[0]  # uncorrupted path
    if report is PAGE_REPORT:
        assert numbers[f"{check}.stored_clicks"].value == pytest.approx(stored_clicks)
        assert numbers[f"{check}.api_clicks"].value == pytest.approx(true_clicks * factor)
    else:
        assert numbers[f"{check}.mismatched_slices"].value == 1
    assert stored_rows(engine, report.table, SMALL_SITE.site_url, day) == before
    with engine.connect() as conn:
        dirty = conn.execute(sa.text("select count(*) from gsc_lifetime_dirty")).scalar_one()
    assert dirty == 0  # nothing for the lifetime stats to pick up
    assert lifetime_matches_full_recompute(engine) == []
    engine.dispose()


def run_check(defs: dg.Definitions, warehouse_url: str, asset: str, name: str):
    """Evaluate one check outside a run: it looks at the dates of the latest sync."""
    key = dg.AssetCheckKey(dg.AssetKey(asset), name)
    check = next(c for c in defs.asset_checks if key in c.check_keys)
    with WarehouseResource.from_resource_context_cm(
        dg.build_init_resource_context(config={"database_url": warehouse_url})
    ) as warehouse:
        # The set-up resource's engine as a plain value: a ConfigurableResource given here
        # would be set up again by the context.
        resources = {"warehouse": SimpleNamespace(engine=warehouse.engine)}
        results = list(check(dg.build_asset_check_context(resources=resources)))
    [result] = [r for r in results if r.check_name == name]
    return result


def test_a_check_selected_alone_runs_alone(make_simulator, warehouse_url, day):
    """A table's checks share one step; selecting one (the UI's "Execute") evaluates only it."""
    sim = make_simulator(sites=(SMALL_SITE,))
    defs = build_definitions(env_for(sim, warehouse_url))
    assert run(defs, [PAGE_REPORT.table], day).success
    key = dg.AssetCheckKey(dg.AssetKey(PAGE_REPORT.table), "is_complete")
    job = dg.define_asset_job("only_is_complete", selection=dg.AssetSelection.checks(key))
    merged = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    with dg.DagsterInstance.ephemeral() as instance:
        result = merged.resolve_job_def("only_is_complete").execute_in_process(instance=instance)
    assert [e.check_name for e in result.get_asset_check_evaluations()] == ["is_complete"]
    assert result.get_asset_check_evaluations()[0].passed


def test_checks_fail_after_the_warehouse_is_corrupted(make_simulator, warehouse_url, day):
    sim = make_simulator(sites=(SMALL_SITE,))
    defs = build_definitions(env_for(sim, warehouse_url))
    tables = [PAGE_REPORT.table, PAGE_QUERY_REPORT.table]
    result = run(defs, tables, day)
    assert result.success
    for name in ("rows_match_sync_log", "pages_sum_to_page_totals", "is_complete"):
        assert run_check(defs, warehouse_url, PAGE_REPORT.table, name).passed, name
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "delete from gsc_page_daily where page = (select max(page) from gsc_page_daily)"
            )
        )
        conn.execute(
            sa.text("update gsc_api_totals set clicks = clicks + 7 where report = 'page_query'")
        )
    missing = run_check(defs, warehouse_url, PAGE_REPORT.table, "rows_match_sync_log")
    assert not missing.passed and missing.severity is dg.AssetCheckSeverity.ERROR
    assert missing.metadata["rows_fetched"].value == missing.metadata["rows_in_table"].value + 1
    sums = run_check(defs, warehouse_url, PAGE_REPORT.table, "pages_sum_to_page_totals")
    assert not sums.passed
    assert sums.metadata["mismatched_slices"].value == 1
    within = run_check(defs, warehouse_url, PAGE_QUERY_REPORT.table, "queries_within_page_totals")
    assert within.passed  # raising the totals keeps query rows within them: still consistent
    with engine.begin() as conn:
        conn.execute(sa.text("delete from gsc_page_daily"))
    complete = run_check(defs, warehouse_url, PAGE_REPORT.table, "is_complete")
    assert not complete.passed and complete.severity is dg.AssetCheckSeverity.ERROR
    assert complete.metadata["slices_missing_rows"].value == 1
    engine.dispose()


def test_duplicate_keys_fail_the_check(make_simulator, warehouse_url, day):
    sim = make_simulator(sites=(SMALL_SITE,))
    defs = build_definitions(env_for(sim, warehouse_url))
    result = run(defs, [PAGE_REPORT.table], day)
    assert result.success
    assert run_check(defs, warehouse_url, PAGE_REPORT.table, "has_no_duplicate_keys").passed
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:  # a copy without the primary key, as another tool might make
        conn.execute(sa.text("alter table gsc_page_daily rename to gsc_page_daily_old"))
        conn.execute(sa.text("create table gsc_page_daily as select * from gsc_page_daily_old"))
        conn.execute(
            sa.text(
                "insert into gsc_page_daily select * from gsc_page_daily_old where page = "
                "(select min(page) from gsc_page_daily_old)"
            )
        )
    outcome = run_check(defs, warehouse_url, PAGE_REPORT.table, "has_no_duplicate_keys")
    assert not outcome.passed
    assert outcome.metadata["duplicate_keys"].value == 1
    engine.dispose()


def test_freshness_fails_when_the_newest_final_partition_is_too_old(simulator, warehouse_url, day):
    env = env_for(
        simulator,
        warehouse_url,
        GSC_SITES=SMALL_SITE.site_url,
        GSC_FRESHNESS_MAX_AGE_DAYS="4",
    )
    defs = build_definitions(env)
    result = run(defs, [PAGE_REPORT.table], day)
    assert result.success  # not blocking
    fresh = evaluations(result)[("gsc_page_daily", "is_fresh")]
    assert not fresh.passed and fresh.severity is dg.AssetCheckSeverity.ERROR
    assert value(fresh, "age_days") == {SMALL_SITE.site_url: 5}


def test_non_final_slices_are_published_but_not_judged_against_moving_totals(
    make_simulator, warehouse_url
):
    """Fresh data changes between the rows request and the totals request, so a fresh date is
    stored (and marked non-final) without a like-for-like verdict; once final it is judged."""
    sim = make_simulator(sites=(SMALL_SITE,))
    fresh_day = dg_today() - dt.timedelta(days=1)
    env = env_for(
        sim,
        warehouse_url,
        GSC_DATA_STATE="all",
        GSC_START_DATE=(fresh_day - dt.timedelta(days=10)).isoformat(),
    )
    corrupt_page_totals(sim, 1.5)
    result = run(build_definitions(env), [PAGE_REPORT.table], fresh_day)

    assert result.success
    check = evaluations(result)[("gsc_page_daily", "pages_sum_to_page_totals")]
    assert check.passed
    assert value(check, "non_final_slices_not_compared") == 1
    assert value(check, "slices_compared") == 0
    engine = make_engine(warehouse_url)
    stored = stored_rows(engine, PAGE_REPORT.table, SMALL_SITE.site_url, fresh_day)
    engine.dispose()
    assert len(stored) > 0
