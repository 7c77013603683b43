"""Values that describe Search Console requests and answers.

API facts (../shared/GSC_API.md):
- one request returns at most 25,000 rows; a day keeps at most 50,000 rows per search type
  (the top rows by clicks; the tail is dropped silently);
- enum values arrive lowercase/camelCase from most clients and UPPER_SNAKE from some;
- discover and googleNews have no query dimension and no position; discover has no device;
- searchAppearance must be the only grouping dimension; byProperty cannot group or filter by page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

MAX_ROWS_PER_REQUEST = 25_000  # GSC_API.md "rowLimit 1..25000"
MAX_ROWS_PER_DAY = 50_000  # GSC_API.md "at most 50,000 rows per day per search type"
QUOTA_QPM_PER_SITE = 1_200  # GSC_API.md "Quotas"
QUOTA_QPM_PER_USER = 1_200
RETENTION_MONTHS = 16
SCOPE_READONLY = "https://www.googleapis.com/auth/webmasters.readonly"


def _normalise_enum_text(value: str) -> str:
    return value.strip().replace("_", "").replace("-", "").lower()


class _ParsableEnum(StrEnum):
    @classmethod
    def parse(cls, value: str | Self) -> Self:
        """Accept Google's camelCase spelling and the UPPER_SNAKE one (`GOOGLE_NEWS`)."""
        if isinstance(value, cls):
            return value
        wanted = _normalise_enum_text(str(value))
        for member in cls:
            if _normalise_enum_text(member.value) == wanted:
                return member
        allowed = ", ".join(member.value for member in cls)
        raise ValueError(f"unknown {cls.__name__} {value!r}; expected one of: {allowed}")


class SearchType(_ParsableEnum):
    """The `type` of a searchAnalytics.query (`searchType` is its deprecated name)."""

    WEB = "web"
    IMAGE = "image"
    VIDEO = "video"
    NEWS = "news"
    DISCOVER = "discover"
    GOOGLE_NEWS = "googleNews"

    @property
    def supports_query(self) -> bool:
        """Discover and Google News cannot be grouped or filtered by query."""
        return self not in (SearchType.DISCOVER, SearchType.GOOGLE_NEWS)

    @property
    def supports_device(self) -> bool:
        """Discover cannot be grouped by device."""
        return self is not SearchType.DISCOVER

    @property
    def has_position(self) -> bool:
        """Discover and Google News rows carry no position."""
        return self not in (SearchType.DISCOVER, SearchType.GOOGLE_NEWS)


class AggregationType(_ParsableEnum):
    """How impressions are counted: per property (one per results page) or per URL."""

    AUTO = "auto"
    BY_PAGE = "byPage"
    BY_PROPERTY = "byProperty"
    BY_NEWS_SHOWCASE_PANEL = "byNewsShowcasePanel"


class DataState(_ParsableEnum):
    """`final` excludes fresh data; `all` includes it; `hourly_all` goes with the hour dimension."""

    FINAL = "final"
    ALL = "all"
    HOURLY_ALL = "hourly_all"


class Dimension(_ParsableEnum):
    """Grouping dimensions; keys come back in the order they were requested."""

    DATE = "date"
    HOUR = "hour"
    QUERY = "query"
    PAGE = "page"
    COUNTRY = "country"
    DEVICE = "device"
    SEARCH_APPEARANCE = "searchAppearance"


@dataclass(frozen=True)
class Report:
    """One daily report: which dimensions (besides date) and how impressions aggregate.

    Its table is `table`; its natural key is (site_url, date, search_type, *dimensions).
    """

    name: str
    table: str
    dimensions: tuple[Dimension, ...]
    aggregation_type: AggregationType
    description: str = ""

    @property
    def request_dimensions(self) -> tuple[Dimension, ...]:
        """The dimensions sent to Google: date first, so each row names its day."""
        return (Dimension.DATE, *self.dimensions)

    def problems_for(self, search_type: SearchType) -> list[str]:
        """Google's rules this report breaks for `search_type` (empty when it is allowed)."""
        problems = []
        dims = set(self.dimensions)
        if Dimension.QUERY in dims and not search_type.supports_query:
            problems.append(
                f"report {self.name!r} groups by query, which search type {search_type.value!r} "
                "does not support; drop that search type or the query dimension"
            )
        if Dimension.DEVICE in dims and not search_type.supports_device:
            problems.append(
                f"report {self.name!r} groups by device, which search type {search_type.value!r} "
                "does not support; drop that search type or the device dimension"
            )
        if Dimension.SEARCH_APPEARANCE in dims and len(dims) > 1:
            problems.append(
                f"report {self.name!r}: searchAppearance must be the only grouping dimension"
            )
        if Dimension.PAGE in dims and self.aggregation_type is AggregationType.BY_PROPERTY:
            problems.append(
                f"report {self.name!r}: aggregationType byProperty cannot group by page; "
                "use byPage"
            )
        return problems


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
# The totals that page rows must sum to: dimensions [date] aggregated byPage (GSC_API.md).
PAGE_TOTALS_REPORT = Report(
    "page_totals", "", (), AggregationType.BY_PAGE, "page-aggregated totals, for reconciliation"
)
CORE_REPORTS: tuple[Report, ...] = (SITE_REPORT, PAGE_REPORT, PAGE_QUERY_REPORT)


@dataclass(frozen=True)
class QueryRequest:
    """One searchAnalytics.query call (one page of one report for a date range)."""

    site_url: str
    start_date: dt.date
    end_date: dt.date
    dimensions: tuple[Dimension, ...] = (Dimension.DATE,)
    search_type: SearchType = SearchType.WEB
    aggregation_type: AggregationType = AggregationType.AUTO
    data_state: DataState = DataState.FINAL
    row_limit: int = MAX_ROWS_PER_REQUEST
    start_row: int = 0
    dimension_filter_groups: tuple[dict[str, Any], ...] = ()

    def body(self) -> dict[str, Any]:
        """The JSON body Google expects."""
        body: dict[str, Any] = {
            "startDate": self.start_date.isoformat(),
            "endDate": self.end_date.isoformat(),
            "dimensions": [d.value for d in self.dimensions],
            "type": self.search_type.value,
            "aggregationType": self.aggregation_type.value,
            "dataState": self.data_state.value,
            "rowLimit": self.row_limit,
            "startRow": self.start_row,
        }
        if self.dimension_filter_groups:
            body["dimensionFilterGroups"] = list(self.dimension_filter_groups)
        return body


# One row as the client returns it: (*keys, clicks, impressions, ctr, position).
# Tuples, not objects: a page-x-query day is 50,000 rows and this is the hot path.
# position is None for search types without position (discover, googleNews).
Row = tuple[Any, ...]


@dataclass(frozen=True)
class QueryPage:
    """One response of searchAnalytics.query."""

    rows: list[Row]
    response_aggregation_type: AggregationType | None = None
    first_incomplete_date: dt.date | None = None
    first_incomplete_hour: str | None = None


@dataclass(frozen=True)
class DaySlice:
    """The unit a partition is made of: one site, one date, one search type."""

    site_url: str
    date: dt.date
    search_type: SearchType = SearchType.WEB

    def describe(self) -> str:
        """Human words for messages: site, date and type."""
        return f"site {self.site_url!r}, date {self.date.isoformat()}, type {self.search_type.value}"


@dataclass(frozen=True)
class WorkUnit:
    """One request's identity: a retried unit replaces, never adds to, its result."""

    day: DaySlice
    report_name: str
    start_row: int


@dataclass
class ReportData:
    """Every row of one report for one DaySlice, with what it took to get them."""

    day: DaySlice
    report: Report
    rows: list[Row] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    pages: int = 0
    data_state: DataState = DataState.FINAL
    first_incomplete_date: dt.date | None = None

    @property
    def truncated(self) -> bool:
        """True when the day reached Google's 50,000-row cap, so its tail was dropped."""
        return len(self.rows) >= MAX_ROWS_PER_DAY

    @property
    def is_final(self) -> bool:
        """False when Search Console said this date may still change."""
        if self.data_state is DataState.FINAL:
            return True
        return self.first_incomplete_date is None or self.day.date < self.first_incomplete_date
