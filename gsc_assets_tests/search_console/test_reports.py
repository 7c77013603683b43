"""The report registry: built-ins chosen by name, custom reports parsed from YAML and validated
against Google's rules at load, one message per problem naming the report and the fix."""

from __future__ import annotations

import datetime as dt

import pytest

from gsc_assets.reports.catalogue import (
    BUILTIN_BY_NAME,
    BUILTIN_REPORTS,
    CORE_REPORTS,
    DEFAULT_REPORT_NAMES,
    select_builtin,
)
from gsc_assets.reports.custom import load_custom_reports, parse_custom_reports
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import is_final_date
from gsc_assets.reports.vocabulary import (
    AggregationType,
    DataState,
    Dimension,
    DimensionFilter,
    FilterOperator,
    SearchType,
)
from gsc_assets.search_console.models import QueryRequest

VALID = """
reports:
  - name: blog_by_country
    dimensions: [page, country]
    aggregation_type: byPage
    search_types: [web, image]
    filters:
      - {dimension: page, operator: contains, expression: /blog/}
    description: blog pages per country
"""


def test_builtin_reports_have_unique_names_and_tables_and_obey_googles_rules():
    assert len({r.name for r in BUILTIN_REPORTS}) == len(BUILTIN_REPORTS)
    assert len({r.table for r in BUILTIN_REPORTS}) == len(BUILTIN_REPORTS)
    for report in BUILTIN_REPORTS:
        assert report.problems_for(SearchType.WEB) == [], report.name
    assert DEFAULT_REPORT_NAMES == ("site", "page", "page_query")
    assert {"country", "device", "search_appearance", "page_country", "page_device"} <= set(
        BUILTIN_BY_NAME
    )
    assert BUILTIN_BY_NAME["site_hourly"].request_dimensions == (Dimension.HOUR,)
    assert BUILTIN_BY_NAME["page_hourly"].is_hourly


# What Google offers each built-in report, written out from the docs (README's capability table):
# no query for discover/googleNews, no device for discover, no byProperty for googleNews, hourly
# data for web and googleNews only.
OFFERED = {
    "site": "web image video news discover",
    "page": "web image video news discover googleNews",
    "page_query": "web image video news",
    "country": "web image video news discover",
    "device": "web image video news",
    "search_appearance": "web image video news discover",
    "page_country": "web image video news discover googleNews",
    "page_device": "web image video news googleNews",
    "site_hourly": "web",
    "page_hourly": "web googleNews",
}


@pytest.mark.parametrize("name", sorted(OFFERED))
def test_each_builtin_report_is_offered_for_exactly_the_types_google_accepts(name):
    offered = BUILTIN_BY_NAME[name].supported_search_types()
    assert [t.value for t in offered] == OFFERED[name].split()


def test_supported_search_types_follow_google():
    device = BUILTIN_BY_NAME["device"]
    assert SearchType.DISCOVER not in device.supported_search_types()
    assert SearchType.GOOGLE_NEWS not in device.supported_search_types()  # byProperty
    assert "Aggregation by property is not supported for googleNews." in " ".join(
        device.problems_for(SearchType.GOOGLE_NEWS)
    )
    page_query = BUILTIN_BY_NAME["page_query"]
    assert set(page_query.supported_search_types()) == {
        SearchType.WEB,
        SearchType.IMAGE,
        SearchType.VIDEO,
        SearchType.NEWS,
    }


def test_select_builtin_keeps_order_and_names_unknown_reports():
    reports, problems = select_builtin(["country", "site", "country"])
    assert [r.name for r in reports] == ["country", "site"]
    assert problems == []
    _, problems = select_builtin(["site", "bogus"])
    assert len(problems) == 1 and "'bogus'" in problems[0] and "page_device" in problems[0]
    assert select_builtin(DEFAULT_REPORT_NAMES)[0] == CORE_REPORTS


def test_a_valid_custom_report_becomes_a_report_value_with_filters_in_its_requests():
    reports, problems = parse_custom_reports(VALID, "reports.yaml")
    assert problems == []
    (report,) = reports
    assert report == Report(
        "blog_by_country",
        "gsc_blog_by_country_daily",
        (Dimension.PAGE, Dimension.COUNTRY),
        AggregationType.BY_PAGE,
        "blog pages per country",
        (DimensionFilter(Dimension.PAGE, FilterOperator.CONTAINS, "/blog/"),),
        (SearchType.WEB, SearchType.IMAGE),
    )
    assert report.supported_search_types() == (SearchType.WEB, SearchType.IMAGE)
    assert report.problems_for(SearchType.VIDEO)  # not configured: skipped
    request = QueryRequest(
        "https://www.example.com/",
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 1),
        dimension_filter_groups=report.dimension_filter_groups,
    )
    assert request.body()["dimensionFilterGroups"] == [
        {
            "groupType": "and",
            "filters": [{"dimension": "page", "operator": "contains", "expression": "/blog/"}],
        }
    ]


def test_default_search_types_are_every_type_google_allows():
    text = "reports:\n  - {name: queries, dimensions: [query], aggregation_type: byProperty}\n"
    (report,), problems = parse_custom_reports(text)
    assert problems == []
    assert SearchType.DISCOVER not in report.supported_search_types()
    assert SearchType.WEB in report.supported_search_types()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{name: mixed, dimensions: [searchAppearance, page], aggregation_type: byPage}",
            "report #1 'mixed': searchAppearance must be the only grouping dimension",
        ),
        (
            "{name: prop_pages, dimensions: [page], aggregation_type: byProperty}",
            "report #1 'prop_pages': aggregationType byProperty cannot group or filter by page; "
            "use byPage",
        ),
        (
            "{name: prop_filter, dimensions: [country], aggregation_type: byProperty, "
            "filters: [{dimension: page, operator: contains, expression: /a/}]}",
            "report #1 'prop_filter': aggregationType byProperty cannot group or filter by page",
        ),
        (
            "{name: dq, dimensions: [query], aggregation_type: byProperty, "
            "search_types: [web, discover]}",
            "report #1 'dq': groups or filters by query, which search type 'discover' does not "
            "support; drop that search type",
        ),
        (
            "{name: dd, dimensions: [device], aggregation_type: byProperty, "
            "search_types: [discover]}",
            "report #1 'dd': groups by device, which search type 'discover' does not support",
        ),
        (
            "{name: Blog-Pages, dimensions: [page], aggregation_type: byPage}",
            "report #1: name 'Blog-Pages' is not a safe identifier",
        ),
        (
            "{name: page, dimensions: [page], aggregation_type: byPage}",
            "report #1 'page': the name is already used by a built-in report; rename it",
        ),
        (
            "{name: t, dimensions: [date, page], aggregation_type: byPage}",
            "report #1 't': date is implied",
        ),
        (
            "{name: t, dimensions: [page], aggregation_type: auto}",
            "report #1 't': aggregation_type 'auto' is not byPage or byProperty",
        ),
        (
            "{name: t, dimensions: [page], aggregation_type: byPage, "
            "filters: [{dimension: page, operator: includingRegex, expression: '(['}]}",
            "report #1 't' filter #1: '([' is not a regular expression",
        ),
        (
            "{name: t, dimensions: [page], aggregation_type: byPage, "
            "filters: [{dimension: hour, expression: x}]}",
            "report #1 't' filter #1: cannot filter by 'hour'",
        ),
    ],
)
def test_each_broken_rule_is_one_message_naming_the_report_and_the_fix(entry, message):
    reports, problems = parse_custom_reports(f"reports:\n  - {entry}\n", "reports.yaml")
    assert reports == ()
    assert len(problems) == 1, problems
    assert problems[0].startswith("reports.yaml: ")
    assert message in problems[0]


def test_every_problem_of_a_file_is_reported_and_no_report_is_built():
    text = VALID + (
        "  - {name: blog_by_country, dimensions: [page], aggregation_type: byPage}\n"
        "  - {name: x, dimensions: [searchAppearance, country], aggregation_type: byPage,"
        " colour: red}\n"
    )
    reports, problems = parse_custom_reports(text, "r.yaml")
    assert reports == ()
    assert problems == [
        "r.yaml: report #2 'blog_by_country': the name is already used by report #1; rename it",
        "r.yaml: report #3 'x': unknown field(s) colour; allowed: aggregation_type, description, "
        "dimensions, filters, name, search_types",
        "r.yaml: report #3 'x': searchAppearance must be the only grouping dimension; make it a "
        "report of its own",
    ]


def test_unreadable_or_malformed_files_are_one_problem_each(tmp_path):
    _, problems = load_custom_reports(tmp_path / "missing.yaml")
    assert len(problems) == 1 and "missing.yaml" in problems[0]
    broken = tmp_path / "broken.yaml"
    broken.write_text("reports: [\n")
    _, problems = load_custom_reports(broken)
    assert len(problems) == 1 and "not valid YAML" in problems[0]
    broken.write_text("- name: x\n")
    _, problems = load_custom_reports(broken)
    assert problems == [f"{broken}: expected a top-level `reports:` list of report entries"]


TODAY = dt.date(2026, 11, 20)


@pytest.mark.parametrize(
    ("date", "data_state", "first_incomplete", "has_rows", "fetched_on", "final"),
    [
        # Google said so: first_incomplete_date after the date, whatever its age
        (TODAY - dt.timedelta(days=1), DataState.ALL, TODAY, True, TODAY, True),
        # ... and on or before it: not final, even when old
        (
            TODAY - dt.timedelta(days=9),
            DataState.ALL,
            TODAY - dt.timedelta(days=9),
            True,
            TODAY,
            False,
        ),
        # a dataState=final answer holding the date
        (TODAY - dt.timedelta(days=2), DataState.FINAL, None, True, TODAY, True),
        # silence about a recent date is never final: empty, no metadata
        (TODAY, DataState.ALL, None, False, TODAY, False),
        (TODAY - dt.timedelta(days=2), DataState.FINAL, None, False, TODAY, False),
        (TODAY - dt.timedelta(days=3), DataState.ALL, None, True, TODAY, False),
        # older than the documented lag when fetched: final by age, even when empty
        (TODAY - dt.timedelta(days=4), DataState.ALL, None, False, TODAY, True),
        # the age counts at fetch time, never unknown
        (TODAY - dt.timedelta(days=30), DataState.ALL, None, False, None, False),
    ],
)
def test_a_date_is_final_only_when_google_says_so_or_by_documented_age(
    date, data_state, first_incomplete, has_rows, fetched_on, final
):
    assert (
        is_final_date(
            date,
            data_state=data_state,
            first_incomplete_date=first_incomplete,
            has_rows=has_rows,
            fetched_on=fetched_on,
        )
        is final
    )
