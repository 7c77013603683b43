"""The words of a Search Analytics query: search types, aggregation, data state, dimensions,
filters.

Enum values arrive lowercase/camelCase from most clients and UPPER_SNAKE from some; `parse`
accepts both. What each search type offers is the capability table (`capabilities.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from gsc_assets.reports.capabilities import CAPABILITIES


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
