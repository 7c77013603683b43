"""Parse and validate a searchAnalytics.query body into a `QuerySpec`, the way Google does.

Rules (docs/search_console_api.md): enum values are accepted in camelCase and UPPER_SNAKE;
`searchType` is the deprecated name of `type`; unknown fields are rejected like Google's JSON
parser does. What each search type accepts (dimensions, filters, aggregation types, hourly data)
is the capability table `gsc_assets.reports.capabilities`, read here and by the client alike,
in its strict reading: searchAppearance cannot be combined with any other grouping dimension,
date and hour included; googleNews cannot aggregate byProperty; hour exists for web and
googleNews only, and goes with dataState hourly_all (the strict pairing is inferred from
Google's announcement: "HOURLY_ALL, which should be used when grouping by HOUR").
Everything invalid raises `BadRequestError` with a message in Google's style, answered as 400
INVALID_ARGUMENT. Where Google's docs are ambiguous, the simulator refuses: it may be stricter
than Google, never more lenient.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from gsc_assets.reports.capabilities import (
    AGGREGATIONS,
    ALL_DIMENSIONS,
    DATA_STATES,
    SEARCH_TYPES,
    refusals,
)

MAX_ROWS_PER_REQUEST = 25_000  # docs/search_console_api.md "rowLimit 1..25000"
DEFAULT_ROW_LIMIT = 1_000

DIMENSIONS = tuple(sorted(ALL_DIMENSIONS))
FILTER_DIMENSIONS = ("query", "page", "country", "device", "searchAppearance")
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
    dims: tuple[str, ...],
    search_type: str,
    filters: tuple[Filter, ...],
    aggregation: str,
    data_state: str,
) -> None:
    found = refusals(search_type, dims, [f.dimension for f in filters], aggregation, data_state)
    if found:
        raise BadRequestError(found[0].message)


def _resolve_aggregation(
    requested: str, spec_uses_page: bool, search_type: str, filters: tuple[Filter, ...]
) -> str:
    if requested == "auto":
        # googleNews has no byProperty aggregation; what `auto` gives it there is inferred.
        by_property = not spec_uses_page and search_type != "googleNews"
        return "byProperty" if by_property else "byPage"
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


def require_known_fields(body: Any, known: frozenset[str]) -> dict[str, Any]:
    """The body as an object with only `known` fields, as Google's JSON parser insists."""
    if not isinstance(body, dict):
        raise BadRequestError("Invalid JSON payload received. Expected an object.")
    for name in body:
        if name not in known:
            raise BadRequestError(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
            )
    return body


def parse_query(body: Any) -> QuerySpec:
    """Validate a decoded JSON body; raise `BadRequestError` exactly where Google answers 400."""
    body = require_known_fields(body, KNOWN_FIELDS)
    start, end = _parse_date(body, "startDate"), _parse_date(body, "endDate")
    if start > end:
        raise BadRequestError("startDate must be earlier than or equal to endDate")
    dims = _parse_dimensions(body)
    search_type = canonical(body.get("type", body.get("searchType", "web")), SEARCH_TYPES, "type")
    data_state = canonical(body.get("dataState", "final"), DATA_STATES, "data_state")
    filters = _parse_filters(body)
    requested = canonical(body.get("aggregationType", "auto"), AGGREGATIONS, "aggregation_type")
    _check_combination(dims, search_type, filters, requested, data_state)
    row_limit = _parse_int(body, "rowLimit", DEFAULT_ROW_LIMIT)
    if not 1 <= row_limit <= MAX_ROWS_PER_REQUEST:
        raise BadRequestError(f"rowLimit must be between 1 and {MAX_ROWS_PER_REQUEST}")
    start_row = _parse_int(body, "startRow", 0)
    if start_row < 0:
        raise BadRequestError("startRow must be non-negative")
    uses_page = "page" in dims or any(f.dimension == "page" for f in filters)
    aggregation = _resolve_aggregation(requested, uses_page, search_type, filters)
    return QuerySpec(
        start, end, dims, search_type, aggregation, data_state, filters, row_limit, start_row
    )
