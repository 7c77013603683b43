"""reconciliation_for: what a report's rows are compared with, derived from the report value alone.

Contract: byPage reports reconcile with byPage totals, byProperty ones with byProperty totals,
both with the report's own filters; query-grouped rows are compared at most, others equal;
documented relations block (ERROR), byProperty equal only WARNs; hourly, searchAppearance and
dimensionless reports have no reconciliation.
"""

from __future__ import annotations

import pytest

from gsc_assets.reports.catalogue import BUILTIN_BY_NAME, PAGE_TOTALS_REPORT, PROPERTY_TOTALS_REPORT
from gsc_assets.reports.custom import parse_custom_reports
from gsc_assets.reports.reconciliation import reconciliation_for

CUSTOM = """
reports:
  - name: blog_pages
    dimensions: [page]
    aggregation_type: byPage
    filters:
      - {dimension: page, operator: contains, expression: /blog/}
  - name: mobile_queries
    dimensions: [query]
    aggregation_type: byProperty
    filters:
      - {dimension: device, operator: equals, expression: MOBILE}
"""


@pytest.mark.parametrize(
    ("name", "totals", "relation", "severity"),
    [
        ("page", PAGE_TOTALS_REPORT, "equal", "ERROR"),
        ("page_query", PAGE_TOTALS_REPORT, "at_most", "ERROR"),
        ("page_country", PAGE_TOTALS_REPORT, "equal", "ERROR"),
        ("page_device", PAGE_TOTALS_REPORT, "equal", "ERROR"),
        ("country", PROPERTY_TOTALS_REPORT, "equal", "WARN"),
        ("device", PROPERTY_TOTALS_REPORT, "equal", "WARN"),
    ],
)
def test_builtin_reports_reconcile_with_totals_of_their_aggregation_type(
    name, totals, relation, severity
):
    reconciliation = reconciliation_for(BUILTIN_BY_NAME[name])
    assert reconciliation is not None
    assert reconciliation.totals_report == totals
    assert reconciliation.relation == relation
    assert reconciliation.severity == severity
    assert reconciliation.blocking is (severity == "ERROR")


@pytest.mark.parametrize("name", ["site", "search_appearance", "site_hourly", "page_hourly"])
def test_reports_without_comparable_totals_have_no_reconciliation(name):
    assert reconciliation_for(BUILTIN_BY_NAME[name]) is None


def test_custom_reports_reconcile_with_totals_carrying_their_filters():
    reports, problems = parse_custom_reports(CUSTOM)
    assert problems == []
    pages, queries = (reconciliation_for(report) for report in reports)
    assert pages is not None and queries is not None
    assert pages.totals_report.name == PAGE_TOTALS_REPORT.name
    assert pages.totals_report.dimension_filters == reports[0].dimension_filters
    assert (pages.relation, pages.blocking) == ("equal", True)
    assert queries.totals_report.aggregation_type is PROPERTY_TOTALS_REPORT.aggregation_type
    assert queries.totals_report.dimension_filters == reports[1].dimension_filters
    assert (queries.relation, queries.blocking) == ("at_most", True)  # documented: anonymized


def test_a_custom_report_may_not_take_a_totals_name():
    reports, problems = parse_custom_reports(
        "reports:\n  - {name: page_totals, dimensions: [country], aggregation_type: byProperty}\n"
    )
    assert reports == ()
    assert problems == [
        "<reports>: report #1 'page_totals': the name is already used by the reconciliation "
        "totals; rename it"
    ]
