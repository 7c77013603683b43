"""Reconciliation per report, through Dagster against the simulator, on SQLite and Postgres.

Contract: every configured daily report with a reconciliation (`totals.reconciliation_for`) is
fetched with Google's totals of its aggregation type and filters, and gets a check whose numbers
are the simulator's totals; on consistent data every such check passes. When the simulator's
byPage totals disagree with its rows, a byPage report's date is not published (the previous
version stays, the run fails with the numbers); when its byProperty totals disagree, the
non-blocking WARN check of a byProperty report fails with the numbers and the run still
publishes. searchAppearance and hourly reports have no reconciliation check and no totals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates
from gsc_assets.reports.catalogue import BUILTIN_BY_NAME
from gsc_assets.reports.report import Report
from gsc_assets.settings import Settings, today_pacific
from gsc_assets.simulator.request import parse_query
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import env_for
from gsc_assets_tests.defs.test_checks import SMALL_SITE, evaluations, value
from gsc_assets_tests.defs.test_report_assets import CUSTOM, api_rows, stored

RECONCILED = ["country", "device", "page_country", "page_device"]
UNRECONCILED = ["search_appearance", "site_hourly", "page_hourly"]
CHECK = "rows_reconcile_with_totals"


@pytest.fixture
def day() -> dt.date:
    return today_pacific() - dt.timedelta(days=5)


def env_with_custom(sim, warehouse_url: str, tmp_path, reports: list[str]) -> dict[str, str]:
    path = tmp_path / "reports.yaml"
    path.write_text(CUSTOM)
    return env_for(sim, warehouse_url, GSC_REPORTS=",".join(reports), GSC_REPORTS_FILE=str(path))


def custom_report(env: dict[str, str], name: str) -> Report:
    return next(r for r in Settings.from_env(env).reports if r.name == name)


def api_totals(sim, report: Report, site: str, day: dt.date) -> tuple[float, float]:
    """(clicks, impressions) of Google's [date] totals with the report's aggregation and filters."""
    spec = parse_query(
        {
            "startDate": day.isoformat(),
            "endDate": day.isoformat(),
            "dimensions": ["date"],
            "type": "web",
            "aggregationType": report.aggregation_type.value,
            "dataState": "final",
            "dimensionFilterGroups": list(report.dimension_filter_groups),
        }
    )
    rows = sim.app.service.result(site, spec, sim.today()).rows
    return (rows[0][-4], rows[0][-3]) if rows else (0.0, 0.0)


def corrupt_totals(sim, aggregation: str, factor: float) -> None:
    """Scale the simulator's [date]-only totals of one aggregation type; rows stay as they are."""
    service = sim.app.service
    original = service.result

    def result(site_url, spec, today, *args, **kwargs):
        answer = original(site_url, spec, today, *args, **kwargs)
        if tuple(spec.dimensions) != ("date",) or spec.aggregation != aggregation:
            return answer
        rows = [(*row[:-4], row[-4] * factor, row[-3] * factor, *row[-2:]) for row in answer.rows]
        return dataclasses.replace(answer, rows=rows)

    service.result = result


def test_each_report_reconciles_with_the_simulators_totals_of_its_aggregation_type(
    simulator, warehouse_url, tmp_path, day
):
    env = env_with_custom(simulator, warehouse_url, tmp_path, RECONCILED + UNRECONCILED)
    defs = build_definitions(env)
    custom = [custom_report(env, "blog_by_country"), custom_report(env, "mobile_queries")]
    reports = [BUILTIN_BY_NAME[name] for name in RECONCILED] + custom
    daily = [*reports, BUILTIN_BY_NAME["search_appearance"]]
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(defs, [r.table for r in daily], day, day, instance=instance)
    assert result.success
    found = evaluations(result)
    sites = simulator.sites
    for report in reports:
        check = found[(report.table, CHECK)]
        assert check.passed, (report.name, check.description)
        unfiltered = not report.dimension_filters
        want = [
            simulator.totals(site, day, "web", report.aggregation_type.value)[:2]
            if unfiltered
            else api_totals(simulator, report, site, day)
            for site in sites
        ]
        assert value(check, "slices_compared") == len(sites), report.name
        assert value(check, "api_clicks") == pytest.approx(sum(w[0] for w in want)), report.name
        assert value(check, "api_impressions") == pytest.approx(sum(w[1] for w in want))
        stored_clicks = sum(row[-4] for s in sites for row in api_rows(simulator, report, s, day))
        assert value(check, "stored_clicks") == pytest.approx(stored_clicks), report.name
        assert value(check, "aggregation_type") == report.aggregation_type.value
    byproperty = {"country", "device"}
    for name in RECONCILED:
        check = found[(BUILTIN_BY_NAME[name].table, CHECK)]
        assert value(check, "relation") == "equal"
        severity = dg.AssetCheckSeverity.WARN if name in byproperty else dg.AssetCheckSeverity.ERROR
        assert check.severity is severity, name
    queries = found[(custom[1].table, CHECK)]
    assert value(queries, "relation") == "at_most"
    assert 0 < value(queries, "hidden_clicks_share") < 1  # anonymized queries are not rows
    blocking = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for c in defs.asset_checks
        for spec in c.check_specs
    }
    assert blocking[("gsc_page_country_daily", CHECK)] and blocking[(custom[0].table, CHECK)]
    assert not blocking[("gsc_country_daily", CHECK)]
    for name in UNRECONCILED:
        assert (BUILTIN_BY_NAME[name].table, CHECK) not in blocking, name
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        with_totals = set(
            conn.execute(sa.text("select distinct report from gsc_api_totals")).scalars()
        )
    engine.dispose()
    assert with_totals == {r.name for r in reports}


@pytest.mark.parametrize("name", ["page_country", "blog_by_country"])
def test_a_byPage_report_whose_totals_disagree_is_not_published(
    make_simulator, warehouse_url, tmp_path, day, name
):
    sim = make_simulator(sites=(SMALL_SITE,))
    site = SMALL_SITE.site_url
    env = env_with_custom(sim, warehouse_url, tmp_path, ["page_country"])
    report = custom_report(env, name)
    defs = build_definitions(env)
    engine = make_engine(warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_dates(defs, [report.table], day, day, instance=instance).success
        before = stored(engine, report, site, day)
        sim.mutate_day(site, day, "web")
        true_clicks = api_totals(sim, report, site, day)[0]
        assert api_rows(sim, report, site, day) != before  # a new version was on offer
        corrupt_totals(sim, "byPage", 1.5)
        result = materialize_dates(defs, [report.table], day, day, instance=instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert "not published (previous version kept)" in failure.error.message
    numbers = failure.user_failure_data.metadata
    assert numbers[f"{CHECK}.mismatched_slices"].value == 1
    assert numbers[f"{CHECK}.api_clicks"].value == pytest.approx(true_clicks * 1.5)
    assert stored(engine, report, site, day) == before
    engine.dispose()


def test_a_byProperty_report_whose_totals_disagree_warns_and_is_published(
    make_simulator, warehouse_url, day
):
    sim = make_simulator(sites=(SMALL_SITE,))
    site = SMALL_SITE.site_url
    report = BUILTIN_BY_NAME["country"]
    defs = build_definitions(env_for(sim, warehouse_url, GSC_REPORTS="country"))
    engine = make_engine(warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_dates(defs, [report.table], day, day, instance=instance).success
        sim.mutate_day(site, day, "web")
        true_clicks = sim.totals(site, day, "web", "byProperty")[0]
        corrupt_totals(sim, "byProperty", 0.5)
        result = materialize_dates(defs, [report.table], day, day, instance=instance)
    assert result.success
    check = evaluations(result)[(report.table, CHECK)]
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert value(check, "mismatched_slices") == 1
    assert value(check, "api_clicks") == pytest.approx(true_clicks * 0.5)
    assert value(check, "stored_clicks") == pytest.approx(true_clicks)
    assert stored(engine, report, site, day) == api_rows(sim, report, site, day)  # published
    engine.dispose()
