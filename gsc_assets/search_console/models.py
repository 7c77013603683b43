"""The wire types of searchAnalytics.query: one request and one answer page.

What a report is, what Google offers and Google's numbers live in `gsc_assets.reports`;
this module holds only what goes over HTTP (docs/search_console_api.md "The query request",
"The response").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gsc_assets.reports.limits import MAX_ROWS_PER_REQUEST
from gsc_assets.reports.slices import Row
from gsc_assets.reports.vocabulary import AggregationType, DataState, Dimension, SearchType

SCOPE_READONLY = "https://www.googleapis.com/auth/webmasters.readonly"


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
