"""Plan a report's requests: the fewest searchAnalytics.query calls that return every row.

Pure functions (no HTTP, no SQL). Google's numbers (docs/search_console_api.md "Limits"): a
request returns at most 25,000 rows (one page) and a day holds at most 50,000 rows per search
type. So:
- consecutive dates of one (site, search type) are packed into one `[date, ...]` request while
  the rows expected for them fit one page: a report without dimensions besides the date holds
  one row a day (the site report, the totals); other reports' rows per day are learned from
  recent days of the same site/report/type (`expected`), and without that history a date is
  requested alone; such a request spans at most a month, as an estimate can be far too low;
- no page is requested past the known cap: `RangeRequest.row_cap` is days x 50,000 (days x 1
  or x 24 without other dimensions), and paging stops when start_row reaches it;
- reports whose rows do not name their date (searchAppearance: date cannot be a dimension) and
  hourly reports are requested one day at a time.
Rows of a packed request are sorted by clicks across its days, so a date's rows are complete
only once every page of the request has arrived; the fetcher delivers a request whole.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gsc_assets.reports.limits import MAX_ROWS_PER_DAY, MAX_ROWS_PER_REQUEST
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import SearchType

# Rows per day are estimated from the largest recent day, plus this margin: a request planned
# to return exactly a full page would cost one more (empty) request.
ESTIMATE_MARGIN = 1.1
# An estimate can be far too low: the probe date may predate the site's growth, or hold nothing
# (before the site existed, or outside retention). A request of a report with dimensions spans at
# most a month, so a wrong estimate costs at most a month of rows held until the request's last
# page, never the whole range in one request (16 months: 16 requests instead of 1).
MAX_DAYS_PER_ESTIMATED_REQUEST = 31
SiteType = tuple[str, SearchType]


@dataclass(frozen=True)
class RangeRequest:
    """One report's rows for consecutive dates of one site and search type: one request's
    pages (`start_row` 0, 25,000, ... below `row_cap`)."""

    site_url: str
    search_type: SearchType
    report: Report
    start_date: dt.date
    end_date: dt.date

    @property
    def days(self) -> int:
        """How many dates the request covers."""
        return (self.end_date - self.start_date).days + 1

    @property
    def dates(self) -> list[dt.date]:
        """Every date of the request, ascending."""
        return [self.start_date + dt.timedelta(days=n) for n in range(self.days)]

    @property
    def row_cap(self) -> int:
        """The most rows Google can return for the request: never page past it."""
        return self.days * rows_per_day_cap(self.report)

    def slice(self, date: dt.date) -> DaySlice:
        """The (site, date, search type) slice of one of the request's dates."""
        return DaySlice(self.site_url, date, self.search_type)

    def describe(self) -> str:
        """Human words for messages: site, date(s) and type."""
        first = self.start_date.isoformat()
        dates = f"dates {first}..{self.end_date.isoformat()}" if self.days > 1 else f"date {first}"
        return f"site {self.site_url!r}, {dates}, type {self.search_type.value}"


def rows_per_day_cap(report: Report) -> int:
    """The most rows one day of `report` can have: one (24 hourly) without other dimensions."""
    if not report.dimensions:
        return 24 if report.is_hourly else 1
    return MAX_ROWS_PER_DAY


def packable(report: Report) -> bool:
    """Whether several dates may share one request: each row must name its date (not
    searchAppearance reports) and the report must be daily."""
    return report.keys_name_the_time and not report.is_hourly


def needs_estimate(report: Report) -> bool:
    """Whether packing `report` needs learned rows per day (it has dimensions besides time)."""
    return packable(report) and bool(report.dimensions)


def one_day(report: Report, day: DaySlice) -> RangeRequest:
    """The request for one slice alone."""
    return RangeRequest(day.site_url, SearchType.parse(day.search_type), report, day.date, day.date)


def days_per_request(
    report: Report, rows_per_day: int | None, row_limit: int = MAX_ROWS_PER_REQUEST
) -> int:
    """How many consecutive dates one request may cover so its rows fit one page (>= 1)."""
    if not packable(report):
        return 1
    if not report.dimensions:
        return max(1, (row_limit - 1) // rows_per_day_cap(report))
    if rows_per_day is None:
        return 1
    per_day = max(1, math.ceil(rows_per_day * ESTIMATE_MARGIN))
    return max(1, min(MAX_DAYS_PER_ESTIMATED_REQUEST, (row_limit - 1) // per_day))


def plan_requests(
    report: Report,
    days: Iterable[DaySlice],
    expected: Mapping[SiteType, int] | None = None,
    *,
    row_limit: int = MAX_ROWS_PER_REQUEST,
) -> list[RangeRequest]:
    """The requests that fetch `report` for `days`, date-major (earliest dates first).

    `expected` maps (site, search type) to the rows a recent day held (the largest); a key
    without it is requested one date at a time. Only consecutive dates share a request.
    """
    expected = expected or {}
    plans: list[RangeRequest] = []
    for (site, search_type), dates in _dates_by_key(days).items():
        size = days_per_request(report, expected.get((site, search_type)), row_limit)
        for run in _consecutive_runs(dates):
            for start in range(0, len(run), size):
                chunk = run[start : start + size]
                plans.append(RangeRequest(site, search_type, report, chunk[0], chunk[-1]))
    return sorted(plans, key=lambda p: (p.start_date, p.site_url, p.search_type.value))


def probe_days(
    report: Report, days: Iterable[DaySlice], expected: Mapping[SiteType, int] | None = None
) -> list[DaySlice]:
    """The slices to fetch first, alone, to learn rows per day where there is no history.

    One per (site, search type) that has several dates, no `expected` rows and a report that
    needs the estimate: the earliest date (the most likely to be complete).
    """
    expected = expected or {}
    if not needs_estimate(report):
        return []
    return [
        DaySlice(site, dates[0], search_type)
        for (site, search_type), dates in _dates_by_key(days).items()
        if len(dates) > 1 and (site, search_type) not in expected
    ]


def _dates_by_key(days: Iterable[DaySlice]) -> dict[SiteType, list[dt.date]]:
    by_key: dict[SiteType, set[dt.date]] = {}
    for day in days:
        by_key.setdefault((day.site_url, SearchType.parse(day.search_type)), set()).add(day.date)
    return {key: sorted(dates) for key, dates in by_key.items()}


def _consecutive_runs(dates: Sequence[dt.date]) -> list[list[dt.date]]:
    runs: list[list[dt.date]] = []
    for date in dates:
        if runs and (date - runs[-1][-1]).days == 1:
            runs[-1].append(date)
        else:
            runs.append([date])
    return runs
