"""What Search Console accepts, per search type: one table, read by the client and the simulator.

Facts (docs/search_console_api.md, "What each search type offers", with Google's URLs):
- discover and googleNews have no query (neither as dimension nor as filter) and no position;
- discover has no device dimension;
- googleNews cannot be aggregated byProperty (HTTP 400 "Aggregation by property is not supported
  for googleNews.");
- hourly data (dimension hour, dataState hourly_all) exists for web and googleNews only; the two
  go together;
- searchAppearance must be the only grouping dimension, and `date` (or `hour`) counts;
- byProperty cannot group or filter by page.

Where Google's text is ambiguous the table takes the strict reading, so the client never sends a
doubtful request and the simulator refuses it (it may be stricter than Google, never more
lenient). Plain strings only: the simulator must not import the client's enums.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

SEARCH_TYPES = ("web", "image", "video", "news", "discover", "googleNews")
TIME_DIMENSIONS = frozenset({"date", "hour"})
ALL_DIMENSIONS = frozenset(
    {"date", "hour", "query", "page", "country", "device", "searchAppearance"}
)
FILTER_DIMENSIONS = frozenset({"query", "page", "country", "device", "searchAppearance"})
AGGREGATIONS = ("auto", "byPage", "byProperty", "byNewsShowcasePanel")
DATA_STATES = ("final", "all", "hourly_all")
HOURLY_DATA_STATE = "hourly_all"


@dataclass(frozen=True)
class SearchTypeCapabilities:
    """What one search type offers: dimensions, filter dimensions, aggregations, position."""

    search_type: str
    dimensions: frozenset[str]
    filter_dimensions: frozenset[str]
    aggregations: frozenset[str]
    has_position: bool

    @property
    def hourly(self) -> bool:
        """True when hour-by-hour data (dimension hour, dataState hourly_all) exists."""
        return "hour" in self.dimensions


def _capabilities(
    search_type: str,
    *,
    without: Collection[str] = (),
    aggregations: Collection[str] = ("auto", "byPage", "byProperty"),
    has_position: bool = True,
) -> SearchTypeCapabilities:
    return SearchTypeCapabilities(
        search_type,
        ALL_DIMENSIONS - frozenset(without),
        FILTER_DIMENSIONS - frozenset(without),
        frozenset(aggregations),
        has_position,
    )


CAPABILITIES: Mapping[str, SearchTypeCapabilities] = MappingProxyType(
    {
        "web": _capabilities("web"),
        "image": _capabilities("image", without=("hour",)),
        "video": _capabilities("video", without=("hour",)),
        "news": _capabilities("news", without=("hour",)),
        "discover": _capabilities(
            "discover",
            without=("hour", "query", "device"),
            aggregations=("auto", "byPage", "byProperty", "byNewsShowcasePanel"),
            has_position=False,
        ),
        "googleNews": _capabilities(
            "googleNews",
            without=("query",),
            aggregations=("auto", "byPage", "byNewsShowcasePanel"),
            has_position=False,
        ),
    }
)


@dataclass(frozen=True)
class Refusal:
    """One reason Google answers 400: which rule, about what (a dimension or aggregation), and
    Google's words."""

    # "data_state", "dimension", "filter", "aggregation", "appearance_alone" or "property_page"
    rule: str
    subject: str
    message: str


def refusals(
    search_type: str,
    dimensions: Collection[str],
    filter_dimensions: Collection[str],
    aggregation: str,
    data_state: str,
) -> list[Refusal]:
    """Every reason Google refuses a request of this shape (empty when it accepts it).

    `dimensions` are the grouping dimensions as sent (date and hour included), `aggregation`
    the aggregationType as sent (auto is never refused here).
    """
    offered = CAPABILITIES[search_type]
    dims, filters = set(dimensions), set(filter_dimensions)
    found: list[Refusal] = []
    if "hour" in dims and data_state != HOURLY_DATA_STATE:
        found.append(
            Refusal("data_state", "hour", "Grouping by HOUR requires dataState HOURLY_ALL")
        )
    if data_state == HOURLY_DATA_STATE and "hour" not in dims:
        found.append(
            Refusal(
                "data_state",
                "hour",
                "dataState HOURLY_ALL is only available when grouping by HOUR",
            )
        )
    found += [
        Refusal(
            "dimension",
            dimension,
            f"Search type {search_type} does not support the {dimension} dimension",
        )
        for dimension in sorted(dims - offered.dimensions)
    ]
    found += [
        Refusal(
            "filter",
            dimension,
            f"Search type {search_type} does not support filtering by {dimension}",
        )
        for dimension in sorted(filters - offered.filter_dimensions)
    ]
    if aggregation != "auto" and aggregation not in offered.aggregations:
        message = (
            f"Aggregation by property is not supported for {search_type}."
            if aggregation == "byProperty"
            else f"Aggregation type {aggregation} is not supported for {search_type}."
        )
        found.append(Refusal("aggregation", aggregation, message))
    if "searchAppearance" in dims and len(dims) > 1:
        found.append(
            Refusal(
                "appearance_alone",
                "searchAppearance",
                "When grouping by searchAppearance you cannot group by any other dimension "
                "(date and hour included)",
            )
        )
    if aggregation == "byProperty" and "page" in dims | filters:
        found.append(
            Refusal(
                "property_page",
                "page",
                "Cannot group or filter by page when aggregationType is byProperty; use byPage "
                "or auto",
            )
        )
    return found


def hourly_search_types() -> tuple[str, ...]:
    """The search types with hour-by-hour data."""
    return tuple(t for t in SEARCH_TYPES if CAPABILITIES[t].hourly)
