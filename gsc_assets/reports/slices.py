"""What one report holds for one (site, date, search type) slice, and when it is final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gsc_assets.reports.limits import FINAL_AFTER_DAYS, MAX_ROWS_PER_DAY
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import DataState, SearchType

# One row as the client returns it: (*keys, clicks, impressions, ctr, position).
# Tuples, not objects: a page-x-query day is 50,000 rows and this is the hot path.
# position is None for search types without position (discover, googleNews).
Row = tuple[Any, ...]


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
