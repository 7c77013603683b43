"""`Report`: a value from which table, natural key, asset, requests, writes and checks derive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gsc_assets.reports.capabilities import Refusal, refusals
from gsc_assets.reports.vocabulary import (
    AggregationType,
    DataState,
    Dimension,
    DimensionFilter,
    SearchType,
)


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
