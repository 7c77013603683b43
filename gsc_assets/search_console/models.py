"""Values that describe Search Console requests and answers.

API facts (docs/search_console_api.md):
- one request returns at most 25,000 rows; a day keeps at most 50,000 rows per search type
  (the top rows by clicks; the tail is dropped silently);
- enum values arrive lowercase/camelCase from most clients and UPPER_SNAKE from some;
- what each search type offers (dimensions, aggregations, hourly data, position) is the table in
  `gsc_assets.reports.capabilities`; a report is never requested where Google refuses it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo

from gsc_assets.reports.capabilities import CAPABILITIES, Refusal, refusals

MAX_ROWS_PER_REQUEST = 25_000  # docs/search_console_api.md "rowLimit 1..25000"
MAX_ROWS_PER_DAY = 50_000  # docs/search_console_api.md "at most 50,000 rows per day"
QUOTA_QPM_PER_SITE = 1_200  # docs/search_console_api.md "Quotas"
QUOTA_QPM_PER_USER = 1_200
RETENTION_MONTHS = 16
# docs/search_console_api.md "Finality": data is typically final 2-3 days after the date. A date
# is final by age alone once it is MORE than this many days old when it is fetched.
FINAL_AFTER_DAYS = 3
PACIFIC = ZoneInfo("America/Los_Angeles")  # Search Console counts days in Pacific Time
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
        return "query" in CAPABILITIES[self.value].dimensions

    @property
    def supports_device(self) -> bool:
        """Discover cannot be grouped by device."""
        return "device" in CAPABILITIES[self.value].dimensions

    @property
    def has_position(self) -> bool:
        """Discover and Google News rows carry no position."""
        return CAPABILITIES[self.value].has_position


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


class FilterOperator(_ParsableEnum):
    """How a dimension filter compares (regexes use RE2 syntax at Google)."""

    EQUALS = "equals"
    NOT_EQUALS = "notEquals"
    CONTAINS = "contains"
    NOT_CONTAINS = "notContains"
    INCLUDING_REGEX = "includingRegex"
    EXCLUDING_REGEX = "excludingRegex"


# Dimensions Google lets a request filter by (docs/search_console_api.md "dimensionFilterGroups").
FILTER_DIMENSIONS = (
    Dimension.QUERY,
    Dimension.PAGE,
    Dimension.COUNTRY,
    Dimension.DEVICE,
    Dimension.SEARCH_APPEARANCE,
)


@dataclass(frozen=True)
class DimensionFilter:
    """One `{dimension, operator, expression}` filter; a report's filters are AND-ed."""

    dimension: Dimension
    operator: FilterOperator
    expression: str

    def body(self) -> dict[str, str]:
        """The filter as Google's JSON."""
        return {
            "dimension": self.dimension.value,
            "operator": self.operator.value,
            "expression": self.expression,
        }


@dataclass(frozen=True)
class Report:
    """One report: which dimensions (besides time), how impressions aggregate, which filters.

    A report is a value and everything else derives from it: its table is `table`, its natural
    key (site_url, date, search_type, [hour,] *dimensions), its asset, requests and checks.
    `time_dimension` is date for daily reports and hour for hourly ones (dataState hourly_all).
    `search_types` are the types it is fetched for; types Google refuses for its dimensions
    or filters are skipped (`problems_for`).
    """

    name: str
    table: str
    dimensions: tuple[Dimension, ...]
    aggregation_type: AggregationType
    description: str = ""
    dimension_filters: tuple[DimensionFilter, ...] = ()
    search_types: tuple[SearchType, ...] = tuple(SearchType)
    time_dimension: Dimension = Dimension.DATE

    @property
    def request_dimensions(self) -> tuple[Dimension, ...]:
        """The dimensions sent to Google: date (or hour) first, so each row names its day.

        searchAppearance must be the only grouping dimension, and date counts: such a report
        is requested one day at a time, grouped by searchAppearance alone, and its rows take
        their date from the request.
        """
        if Dimension.SEARCH_APPEARANCE in self.dimensions:
            return self.dimensions
        return (self.time_dimension, *self.dimensions)

    @property
    def keys_name_the_time(self) -> bool:
        """True when each returned row's first key is its date (or hour)."""
        return self.request_dimensions[:1] == (self.time_dimension,)

    @property
    def is_hourly(self) -> bool:
        """True for hour-by-hour reports (dimension hour, dataState hourly_all)."""
        return self.time_dimension is Dimension.HOUR

    @property
    def dimension_filter_groups(self) -> tuple[dict[str, Any], ...]:
        """The filters as Google's `dimensionFilterGroups` (one AND group, or none)."""
        if not self.dimension_filters:
            return ()
        return ({"groupType": "and", "filters": [f.body() for f in self.dimension_filters]},)

    def supported_search_types(self) -> tuple[SearchType, ...]:
        """The configured search types Google allows for this report's dimensions and filters."""
        return tuple(t for t in self.search_types if not self.problems_for(t))

    def problems_for(self, search_type: SearchType) -> list[str]:
        """Why this report is not fetched for `search_type` (empty when it is).

        The report's own `search_types`, then every reason Google would refuse its request
        (`reports.capabilities`), each with the fix.
        """
        problems = []
        if search_type not in self.search_types:
            problems.append(
                f"report {self.name!r} is not configured for search type {search_type.value!r}"
            )
        return problems + self.refused_by_google(search_type)

    def refused_by_google(self, search_type: SearchType) -> list[str]:
        """Why Google refuses this report's request for `search_type`, each with the fix."""
        found = refusals(
            search_type.value,
            [d.value for d in self.request_dimensions],
            [f.dimension.value for f in self.dimension_filters],
            self.aggregation_type.value,
            DataState.HOURLY_ALL.value if self.is_hourly else DataState.ALL.value,
        )
        return list(dict.fromkeys(self._explain(search_type, refusal) for refusal in found))

    def _explain(self, search_type: SearchType, refusal: Refusal) -> str:
        """A refusal in the words of a report's configuration: what Google refuses, and the fix."""
        name, kind = self.name, search_type.value
        if refusal.rule in ("dimension", "filter") and refusal.subject == Dimension.QUERY.value:
            return (
                f"report {name!r} groups or filters by query, which search type {kind!r} does "
                "not support; drop that search type or the query dimension/filter"
            )
        if refusal.rule == "dimension" and refusal.subject == Dimension.HOUR.value:
            return (
                f"report {name!r} is hour by hour, which search type {kind!r} does not offer "
                "(hourly data exists for web and googleNews only); drop that search type"
            )
        if refusal.rule in ("dimension", "filter"):
            verb = "groups" if refusal.rule == "dimension" else "filters"
            return (
                f"report {name!r} {verb} by {refusal.subject}, which search type {kind!r} does "
                f"not support; drop that search type or the {refusal.subject} dimension"
            )
        if refusal.rule == "aggregation":
            return (
                f"report {name!r} aggregates {refusal.subject}, which search type {kind!r} does "
                f'not support (Google: "{refusal.message}"); drop that search type'
            )
        if refusal.rule == "appearance_alone":
            return (
                f"report {name!r}: searchAppearance must be the only grouping dimension; "
                "make it a report of its own"
            )
        if refusal.rule == "property_page":
            return (
                f"report {name!r}: aggregationType byProperty cannot group or filter by "
                "page; use byPage"
            )
        return f"report {name!r}: {refusal.message}"


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
# The totals that page rows must sum to: dimensions [date] aggregated byPage (docs/search_console_api.md).
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
    # The Search Console date (Pacific) on Google's clock when it answered, from the HTTP Date
    # header: how old a date was when Google served it is measured on the clock of its data.
    served_on: dt.date | None = None


@dataclass(frozen=True)
class DaySlice:
    """The unit a partition is made of: one site, one date, one search type."""

    site_url: str
    date: dt.date
    search_type: SearchType = SearchType.WEB

    def describe(self) -> str:
        """Human words for messages: site, date and type."""
        return (
            f"site {self.site_url!r}, date {self.date.isoformat()}, type {self.search_type.value}"
        )


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
    throttled: int = 0  # 429 / 403 rate-limit answers among `requests` (each one also retried)
    pages: int = 0
    data_state: DataState = DataState.FINAL
    first_incomplete_date: dt.date | None = None
    first_incomplete_hour: str | None = None  # hourly_all: "YYYY-MM-DDThh:mm:ss-07:00"
    fetched_on: dt.date | None = None  # the Pacific date the fetch of this day began
    offered: bool = True  # False: Google offers no such data for this search type (no request)

    @property
    def truncated(self) -> bool:
        """True when the day reached Google's 50,000-row cap, so its tail was dropped."""
        return len(self.rows) >= MAX_ROWS_PER_DAY

    @property
    def is_final(self) -> bool:
        """True only when this date can no longer change (`is_final_date`, or the hourly rule)."""
        if not self.offered:
            return True  # nothing Google could ever add
        if self.data_state is DataState.HOURLY_ALL:
            # Hours from first_incomplete_hour on may change: final once it lies after this day.
            hour = self.first_incomplete_hour
            return hour is None or self.day.date < dt.date.fromisoformat(hour[:10])
        return is_final_date(
            self.day.date,
            data_state=self.data_state,
            first_incomplete_date=self.first_incomplete_date,
            has_rows=bool(self.rows),
            fetched_on=self.fetched_on,
        )


def is_final_date(
    date: dt.date,
    *,
    data_state: DataState,
    first_incomplete_date: dt.date | None,
    has_rows: bool,
    fetched_on: dt.date | None,
) -> bool:
    """Whether a date's fetched data is final: only when Google says so, or by documented age.

    - Google said so: `metadata.first_incomplete_date` lies after the date (and when it lies on
      or before it, the date is not final, whatever its age); or a dataState=final answer held
      rows for the date.
    - By age: the fetch began when the date was more than FINAL_AFTER_DAYS days old.
    Anything else is silence, and silence is never final: an empty answer without metadata for
    a recent date (nothing published yet, or Google is late) stays non-final and is fetched
    again until one of the rules holds.
    """
    if first_incomplete_date is not None:
        return date < first_incomplete_date
    if data_state is DataState.FINAL and has_rows:
        return True
    return fetched_on is not None and (fetched_on - date).days > FINAL_AFTER_DAYS


def pacific_date(epoch_seconds: float) -> dt.date:
    """The Search Console date (Pacific Time) at a wall-clock instant."""
    return dt.datetime.fromtimestamp(epoch_seconds, PACIFIC).date()
