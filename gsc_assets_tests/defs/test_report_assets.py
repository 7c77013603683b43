"""Reports as configuration, through Dagster against the simulator over HTTP.

Contract: every built-in report chosen in GSC_REPORTS and every custom report of GSC_REPORTS_FILE
is its own daily-partitioned asset whose table holds exactly the rows the API serves (filters
and aggregation type included), re-materializing replaces them; the default selection is the
three core reports; an invalid custom file is rejected at definition load with one message per
problem naming the report and the fix, before anything is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.reports.catalogue import BUILTIN_BY_NAME
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.report import Report
from gsc_assets.settings import Settings, SettingsError
from gsc_assets.simulator.request import parse_query
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.schema import dimension_columns
from gsc_assets_tests.defs.test_assets import env_for, materialize

NEW_BUILTINS = ["country", "device", "search_appearance", "page_country", "page_device"]
CUSTOM = """
reports:
  - name: blog_by_country
    dimensions: [page, country]
    aggregation_type: byPage
    filters:
      - {dimension: page, operator: contains, expression: /blog/}
  - name: mobile_queries
    dimensions: [query]
    aggregation_type: byProperty
    search_types: [web]
    filters:
      - {dimension: device, operator: equals, expression: MOBILE}
"""
INVALID = """
reports:
  - name: blog_by_country
    dimensions: [page, country]
    aggregation_type: byPage
  - name: appearance_pages
    dimensions: [searchAppearance, page]
    aggregation_type: byProperty
"""


def api_rows(sim, report: Report, site: str, date: dt.date) -> list[tuple]:
    """What the API serves for the report's request (filters included), sorted."""
    spec = parse_query(
        {
            "startDate": date.isoformat(),
            "endDate": date.isoformat(),
            "dimensions": [d.value for d in report.request_dimensions],
            "type": "web",
            "aggregationType": report.aggregation_type.value,
            "dataState": "final",
            "dimensionFilterGroups": list(report.dimension_filter_groups),
        }
    )
    rows = sim.app.service.result(site, spec, sim.today()).rows
    if not report.keys_name_the_time:  # searchAppearance alone: the date is the request's
        return sorted((date.isoformat(), *r) for r in rows)
    return sorted(tuple(r) for r in rows)


def stored(engine: sa.Engine, report: Report, site: str, date: dt.date) -> list[tuple]:
    columns = ["date", *dimension_columns(report), "clicks", "impressions", "ctr", "position"]
    table = sa.table(report.table, *(sa.column(c) for c in ["site_url", "search_type", *columns]))
    stmt = sa.select(*(table.c[c] for c in columns)).where(
        table.c.site_url == site, table.c.search_type == "web", table.c.date == date
    )
    with engine.connect() as conn:
        return sorted((str(r[0]), *r[1:]) for r in conn.execute(stmt))


@pytest.fixture
def day() -> dt.date:
    return today_pacific() - dt.timedelta(days=5)


def test_default_selection_is_the_three_core_reports_and_names_choose_built_ins():
    assert [r.name for r in Settings.from_env({}).reports] == ["site", "page", "page_query"]
    chosen = Settings.from_env({"GSC_REPORTS": "site, country,page_device"}).reports
    assert [r.table for r in chosen] == [
        "gsc_site_daily",
        "gsc_country_daily",
        "gsc_page_device_daily",
    ]
    with pytest.raises(SettingsError, match="GSC_REPORTS: 'pages' is not a built-in report"):
        Settings.from_env({"GSC_REPORTS": "site,pages"})


def test_every_new_built_in_report_stores_exactly_what_the_api_serves(
    simulator, warehouse_url, day
):
    env = env_for(simulator, warehouse_url, GSC_REPORTS=",".join(NEW_BUILTINS))
    tables = [BUILTIN_BY_NAME[name].table for name in NEW_BUILTINS]
    result = materialize(env, day, day, tables)
    assert result.success
    engine = make_engine(warehouse_url)
    for name in NEW_BUILTINS:
        report = BUILTIN_BY_NAME[name]
        for site in simulator.sites:
            want = api_rows(simulator, report, site, day)
            assert want, (name, site)
            assert stored(engine, report, site, day) == want, (name, site)
    appearance = stored(engine, BUILTIN_BY_NAME["search_appearance"], simulator.sites[0], day)
    assert all(row[1] for row in appearance)  # only results with a special appearance
    engine.dispose()


def test_a_valid_custom_report_file_yields_exact_idempotent_assets(make_simulator, tmp_path, day):
    sim = make_simulator()
    path = tmp_path / "reports.yaml"
    path.write_text(CUSTOM)
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    env = env_for(sim, url, GSC_REPORTS="site", GSC_REPORTS_FILE=str(path))
    reports = [r for r in Settings.from_env(env).reports if r.name != "site"]
    assert [r.table for r in reports] == ["gsc_blog_by_country_daily", "gsc_mobile_queries_daily"]
    tables = [r.table for r in reports]
    assert materialize(env, day, day, tables).success
    for site in sim.sites:
        sim.mutate_day(site, day, "web")
    assert materialize(env, day, day, tables).success
    engine = make_engine(url)
    for report in reports:
        for site in sim.sites:
            want = api_rows(sim, report, site, day)
            assert want, (report.name, site)
            assert stored(engine, report, site, day) == want
    blog = stored(engine, reports[0], sim.sites[0], day)
    assert all("/blog/" in row[1].lower() for row in blog)  # contains ignores case
    engine.dispose()


def test_an_invalid_custom_report_is_rejected_at_load_and_nothing_is_written(simulator, tmp_path):
    path = tmp_path / "reports.yaml"
    path.write_text(INVALID)
    database = tmp_path / "warehouse.sqlite"
    env = env_for(simulator, f"sqlite:///{database}", GSC_REPORTS_FILE=str(path))
    with pytest.raises(SettingsError) as caught:
        build_definitions(env)
    message = str(caught.value)
    assert (
        f"GSC_REPORTS_FILE: {path}: report #2 'appearance_pages': searchAppearance must be "
        in message
    )
    assert (
        "report #2 'appearance_pages': aggregationType byProperty cannot group or filter by page; "
        "use byPage" in message
    )
    assert message.count("\n- ") == 2
    assert "blog_by_country" not in message
    assert not Path(database).exists()
