"""Parse and validate a searchAnalytics.query body into a `QuerySpec`, the way Google does.

Rules (GSC_API.md "searchAnalytics.query request body" and "Known 400s"): enum values are accepted
in camelCase and UPPER_SNAKE; `searchType` is the deprecated name of `type`; unknown fields are
rejected like Google's JSON parser does; discover and googleNews cannot use the query dimension,
discover cannot use device; searchAppearance cannot be combined with another grouping dimension
(date or hour aside); byProperty cannot group or filter by page. The hour dimension goes with
dataState hourly_all and that data state with the hour dimension (Google's announcement:
"HOURLY_ALL, which should be used when grouping by HOUR"; the strict pairing is inferred).
Everything invalid raises `BadRequestError` with a message in Google's style, answered as 400
INVALID_ARGUMENT.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

MAX_ROWS_PER_REQUEST = 25_000  # GSC_API.md "rowLimit 1..25000"
DEFAULT_ROW_LIMIT = 1_000

DIMENSIONS = ("date", "hour", "query", "page", "country", "device", "searchAppearance")
FILTER_DIMENSIONS = ("query", "page", "country", "device", "searchAppearance")
SEARCH_TYPES = ("web", "image", "video", "news", "discover", "googleNews")
AGGREGATIONS = ("auto", "byPage", "byProperty", "byNewsShowcasePanel")
DATA_STATES = ("final", "all", "hourly_all")
OPERATORS = ("equals", "notEquals", "contains", "notContains", "includingRegex", "excludingRegex")
GROUP_TYPES = ("and",)
KNOWN_FIELDS = frozenset(
    {
        "startDate",
        "endDate",
        "dimensions",
        "type",
        "searchType",
        "dimensionFilterGroups",
        "aggregationType",
        "rowLimit",
        "startRow",
        "dataState",
    }
)
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadRequestError(Exception):
    """The request is invalid; the message is what Google would say."""


@dataclass(frozen=True)
class Filter:
    """One dimension filter, with canonical spellings."""

    dimension: str
    operator: str
    expression: str


@dataclass(frozen=True)
class QuerySpec:
    """A validated query. `aggregation` is resolved: never "auto"."""

    start_date: dt.date
    end_date: dt.date
    dimensions: tuple[str, ...] = ("date",)
    search_type: str = "web"
    aggregation: str = "byPage"
    data_state: str = "final"
    filters: tuple[Filter, ...] = ()
    row_limit: int = DEFAULT_ROW_LIMIT
    start_row: int = 0

    def shape(self) -> tuple[Any, ...]:
        """Everything that decides the full result, i.e. the request minus paging."""
        return (
            self.start_date,
            self.end_date,
            self.dimensions,
            self.search_type,
            self.aggregation,
            self.data_state,
            self.filters,
        )

    def uses(self, dimension: str) -> bool:
        """True when the request groups or filters by `dimension`."""
        return dimension in self.dimensions or any(f.dimension == dimension for f in self.filters)


def canonical(value: Any, allowed: tuple[str, ...], field: str) -> str:
    """Map `googleNews`, `GOOGLE_NEWS`, `google_news` to the canonical spelling."""
    if isinstance(value, str):
        wanted = value.replace("_", "").lower()
        for option in allowed:
            if option.replace("_", "").lower() == wanted:
                return option
    raise BadRequestError(f"Invalid value at '{field}', {_quoted(value)}")


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _parse_date(body: dict[str, Any], field: str) -> dt.date:
    value = body.get(field)
    if value is None:
        raise BadRequestError(f"Required field: {field}")
    if not isinstance(value, str) or not _DATE_PATTERN.fullmatch(value):
        raise BadRequestError(f"Invalid value at '{field}', {_quoted(value)}: expected YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequestError(f"Invalid {field} {_quoted(value)}: not a calendar date") from None


def _parse_int(body: dict[str, Any], field: str, default: int) -> int:
    value = body.get(field, default)
    # Proto3 JSON accepts 64-bit integers as numbers or decimal strings; booleans are not ints.
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"Invalid value at '{field}', {_quoted(value)}")
    return value


def _parse_filters(body: dict[str, Any]) -> tuple[Filter, ...]:
    groups = body.get("dimensionFilterGroups") or []
    if not isinstance(groups, list):
        raise BadRequestError("Invalid value at 'dimension_filter_groups': expected a list")
    filters: list[Filter] = []
    for g, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("filters", []), list):
            raise BadRequestError(f"Invalid value at 'dimension_filter_groups[{g}]'")
        canonical(
            group.get("groupType", "and"), GROUP_TYPES, f"dimension_filter_groups[{g}].group_type"
        )
        for i, raw in enumerate(group.get("filters", [])):
            where = f"dimension_filter_groups[{g}].filters[{i}]"
            if not isinstance(raw, dict):
                raise BadRequestError(f"Invalid value at '{where}'")
            dimension = canonical(raw.get("dimension"), FILTER_DIMENSIONS, f"{where}.dimension")
            operator = canonical(raw.get("operator", "equals"), OPERATORS, f"{where}.operator")
            expression = raw.get("expression")
            if not isinstance(expression, str):
                raise BadRequestError(f"Required field: {where}.expression")
            if operator.endswith("Regex"):
                try:
                    re.compile(expression)
                except re.error as exc:
                    raise BadRequestError(
                        f"Invalid regular expression {_quoted(expression)}: {exc}"
                    ) from None
            filters.append(Filter(dimension, operator, expression))
    return tuple(filters)


def _parse_dimensions(body: dict[str, Any]) -> tuple[str, ...]:
    raw = body.get("dimensions") or []
    if not isinstance(raw, list):
        raise BadRequestError("Invalid value at 'dimensions': expected a list")
    dims = tuple(canonical(d, DIMENSIONS, f"dimensions[{i}]") for i, d in enumerate(raw))
    if len(set(dims)) != len(dims):
        raise BadRequestError("Each dimension may be requested only once")
    return dims


def _check_combination(
    dims: tuple[str, ...], search_type: str, filters: tuple[Filter, ...], data_state: str
) -> None:
    uses = set(dims) | {f.dimension for f in filters}
    if "hour" in dims and data_state != "hourly_all":
        raise BadRequestError("Grouping by HOUR requires dataState HOURLY_ALL")
    if data_state == "hourly_all" and "hour" not in dims:
        raise BadRequestError("dataState HOURLY_ALL is only available when grouping by HOUR")
    if search_type in ("discover", "googleNews") and "query" in uses:
        raise BadRequestError(f"Search type {search_type} does not support the query dimension")
    if search_type == "discover" and "device" in dims:
        raise BadRequestError("Search type discover does not support the device dimension")
    if "searchAppearance" in dims and len(set(dims) - {"date", "hour"}) > 1:
        raise BadRequestError(
            "When grouping by searchAppearance you cannot group by any other dimension"
        )


def _resolve_aggregation(
    requested: str, spec_uses_page: bool, search_type: str, filters: tuple[Filter, ...]
) -> str:
    if requested == "auto":
        return "byPage" if spec_uses_page else "byProperty"
    if requested == "byProperty" and spec_uses_page:
        raise BadRequestError(
            "Cannot group or filter by page when aggregationType is byProperty; use byPage or auto"
        )
    if requested == "byNewsShowcasePanel":
        showcase = any(
            f.dimension == "searchAppearance" and f.expression.upper() == "NEWS_SHOWCASE"
            for f in filters
        )
        if spec_uses_page or search_type not in ("discover", "googleNews") or not showcase:
            raise BadRequestError(
                "aggregationType byNewsShowcasePanel needs type discover or googleNews, a "
                "searchAppearance NEWS_SHOWCASE filter, and no page dimension or filter"
            )
    return requested


def parse_query(body: Any) -> QuerySpec:
    """Validate a decoded JSON body; raise `BadRequestError` exactly where Google answers 400."""
    if not isinstance(body, dict):
        raise BadRequestError("Invalid JSON payload received. Expected an object.")
    for name in body:
        if name not in KNOWN_FIELDS:
            raise BadRequestError(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
            )
    start, end = _parse_date(body, "startDate"), _parse_date(body, "endDate")
    if start > end:
        raise BadRequestError("startDate must be earlier than or equal to endDate")
    dims = _parse_dimensions(body)
    search_type = canonical(body.get("type", body.get("searchType", "web")), SEARCH_TYPES, "type")
    data_state = canonical(body.get("dataState", "final"), DATA_STATES, "data_state")
    filters = _parse_filters(body)
    _check_combination(dims, search_type, filters, data_state)
    row_limit = _parse_int(body, "rowLimit", DEFAULT_ROW_LIMIT)
    if not 1 <= row_limit <= MAX_ROWS_PER_REQUEST:
        raise BadRequestError(f"rowLimit must be between 1 and {MAX_ROWS_PER_REQUEST}")
    start_row = _parse_int(body, "startRow", 0)
    if start_row < 0:
        raise BadRequestError("startRow must be non-negative")
    requested = canonical(body.get("aggregationType", "auto"), AGGREGATIONS, "aggregation_type")
    uses_page = "page" in dims or any(f.dimension == "page" for f in filters)
    aggregation = _resolve_aggregation(requested, uses_page, search_type, filters)
    return QuerySpec(
        start, end, dims, search_type, aggregation, data_state, filters, row_limit, start_row
    )
