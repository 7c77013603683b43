"""The built-in reports, chosen by name (GSC_REPORTS), and the totals they reconcile against.

Adding a report is adding a value here: table, natural key, asset, fetch, writes, sync log and
checks all derive from it.
"""

from __future__ import annotations

from collections.abc import Iterable

from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import AggregationType, Dimension

SITE_REPORT = Report(
    "site", "gsc_site_daily", (), AggregationType.BY_PROPERTY, "property totals per day"
)
PAGE_REPORT = Report(
    "page", "gsc_page_daily", (Dimension.PAGE,), AggregationType.BY_PAGE, "one row per page per day"
)
PAGE_QUERY_REPORT = Report(
    "page_query",
    "gsc_page_query_daily",
    (Dimension.PAGE, Dimension.QUERY),
    AggregationType.BY_PAGE,
    "one row per page and query per day (anonymized queries are never rows)",
)
# The totals that page rows must sum to: dimensions [date] aggregated byPage
# (docs/search_console_api.md).
PAGE_TOTALS_REPORT = Report(
    "page_totals", "", (), AggregationType.BY_PAGE, "page-aggregated totals, for reconciliation"
)
# The totals that property-aggregated rows (country, device, ...) are compared with.
PROPERTY_TOTALS_REPORT = Report(
    "property_totals",
    "",
    (),
    AggregationType.BY_PROPERTY,
    "property-aggregated totals, for reconciliation",
)
CORE_REPORTS: tuple[Report, ...] = (SITE_REPORT, PAGE_REPORT, PAGE_QUERY_REPORT)

# Every built-in report, selectable by name (GSC_REPORTS). Adding one is adding a line here:
# table, natural key, asset, fetch, writes, sync log and checks all derive from the value.
BUILTIN_REPORTS: tuple[Report, ...] = (
    *CORE_REPORTS,
    Report(
        "country",
        "gsc_country_daily",
        (Dimension.COUNTRY,),
        AggregationType.BY_PROPERTY,
        "property totals per country per day",
    ),
    Report(
        "device",
        "gsc_device_daily",
        (Dimension.DEVICE,),
        AggregationType.BY_PROPERTY,
        "property totals per device per day",
    ),
    Report(
        "search_appearance",
        "gsc_search_appearance_daily",
        (Dimension.SEARCH_APPEARANCE,),
        AggregationType.BY_PROPERTY,
        "property totals per search appearance per day (only results with one)",
    ),
    Report(
        "page_country",
        "gsc_page_country_daily",
        (Dimension.PAGE, Dimension.COUNTRY),
        AggregationType.BY_PAGE,
        "one row per page and country per day",
    ),
    Report(
        "page_device",
        "gsc_page_device_daily",
        (Dimension.PAGE, Dimension.DEVICE),
        AggregationType.BY_PAGE,
        "one row per page and device per day",
    ),
    Report(
        "site_hourly",
        "gsc_site_hourly",
        (),
        AggregationType.BY_PROPERTY,
        "property totals per hour of the last days (fresh: hours may be incomplete)",
        time_dimension=Dimension.HOUR,
    ),
    Report(
        "page_hourly",
        "gsc_page_hourly",
        (Dimension.PAGE,),
        AggregationType.BY_PAGE,
        "one row per page per hour of the last days (fresh: hours may be incomplete)",
        time_dimension=Dimension.HOUR,
    ),
)

BUILTIN_BY_NAME: dict[str, Report] = {report.name: report for report in BUILTIN_REPORTS}
DEFAULT_REPORT_NAMES: tuple[str, ...] = tuple(report.name for report in CORE_REPORTS)
# Fetched beside reports under these names, so no custom report may take them.
TOTALS_REPORTS: tuple[Report, ...] = (PAGE_TOTALS_REPORT, PROPERTY_TOTALS_REPORT)


def select_builtin(names: Iterable[str]) -> tuple[tuple[Report, ...], list[str]]:
    """The built-in reports named, in the given order, and a problem per unknown name."""
    reports: list[Report] = []
    problems: list[str] = []
    for name in dict.fromkeys(names):
        report = BUILTIN_BY_NAME.get(name)
        if report is None:
            known = ", ".join(BUILTIN_BY_NAME)
            problems.append(f"{name!r} is not a built-in report; choose from: {known}")
        else:
            reports.append(report)
    return tuple(reports), problems
