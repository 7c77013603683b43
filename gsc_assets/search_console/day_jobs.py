"""One planned request's fetch in progress: which pages arrived, whether it is complete.

A `RangeJob` fetches one `RangeRequest` (one report, one site and search type, consecutive
dates) page by page. Pages are keyed by `WorkUnit` (request, start_row), so a unit answered
twice (a re-queued request whose earlier answer also arrives) REPLACES its page instead of
appending rows a second time, and only the first answer of a unit can open the next page.
Paging stops at a short page or at the request's known cap (`RangeRequest.row_cap`): never a
request that can only come back empty. The rows are split by date only once every page is in:
a packed request's rows are sorted by clicks across its days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from gsc_assets.reports.slices import ReportData, Row
from gsc_assets.reports.vocabulary import DataState
from gsc_assets.search_console.errors import MalformedResponseError
from gsc_assets.search_console.models import QueryPage, QueryRequest
from gsc_assets.search_console.planner import RangeRequest


@dataclass(frozen=True)
class WorkUnit:
    """One request's identity: a retried unit replaces, never adds to, its result."""

    request: RangeRequest
    start_row: int


class RangeJob:
    """Every page fetched so far for one RangeRequest, keyed by start_row (a retry replaces)."""

    def __init__(
        self, plan: RangeRequest, data_state: DataState, fetched_on: dt.date | None = None
    ) -> None:
        self.plan = plan
        self.data_state = data_state
        self.fetched_on = fetched_on  # the Pacific date the fetch began (finality by age)
        self.pages: dict[int, QueryPage] = {}
        self.done = False  # True once the last (short, empty or capped) page is in
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.discarded = False
        self.row_count = 0  # rows held in `pages`

    def first_unit(self) -> WorkUnit:
        """The first page: the unit a new job starts with."""
        return WorkUnit(self.plan, 0)

    def request(self, unit: WorkUnit, row_limit: int) -> QueryRequest:
        """The searchAnalytics.query request for one of this job's units."""
        plan = self.plan
        return QueryRequest(
            site_url=plan.site_url,
            start_date=plan.start_date,
            end_date=plan.end_date,
            dimensions=plan.report.request_dimensions,
            search_type=plan.search_type,
            aggregation_type=plan.report.aggregation_type,
            data_state=self.data_state,
            row_limit=row_limit,
            start_row=unit.start_row,
            dimension_filter_groups=plan.report.dimension_filter_groups,
        )

    def accept(self, unit: WorkUnit, page: QueryPage, row_limit: int) -> WorkUnit | None:
        """Store `page` as the answer of `unit`; return the next page's unit if one is due.

        A unit answered again replaces its earlier page and returns None: the next page (or
        the job's completion) was already decided by the first answer. A full page opens the
        next one unless the request's cap is reached (a day holds at most 50,000 rows).
        """
        earlier = self.pages.get(unit.start_row)
        self.pages[unit.start_row] = page  # replace, never append: units are idempotent
        self.row_count += len(page.rows) - (len(earlier.rows) if earlier is not None else 0)
        if earlier is not None:
            return None
        next_row = unit.start_row + row_limit
        if len(page.rows) >= row_limit and next_row < self.plan.row_cap:
            return replace(unit, start_row=next_row)
        self.done = True
        return None

    def result(self) -> dict[dt.date, ReportData]:
        """The rows of each date of the request, pages concatenated in start_row order.

        Every date of the request gets a ReportData (a date without rows an empty one). The
        request's counters (requests, retries, pages) are the first date's, so they sum up
        exactly. Raises MalformedResponseError for a row of a date outside the request.
        """
        plan = self.plan
        pages = [self.pages[start] for start in sorted(self.pages)]
        rows = [row for page in pages for row in page.rows]
        by_date = _split_by_date(plan, rows)
        incomplete = [p.first_incomplete_date for p in pages if p.first_incomplete_date]
        hours = [p.first_incomplete_hour for p in pages if p.first_incomplete_hour]
        served = [p.served_on for p in pages if p.served_on is not None]
        first = plan.start_date
        return {
            date: ReportData(
                day=plan.slice(date),
                report=plan.report,
                rows=date_rows,
                requests=self.requests if date == first else 0,
                retries=self.retries if date == first else 0,
                throttled=self.throttled if date == first else 0,
                pages=len(pages) if date == first else 0,
                data_state=self.data_state,
                first_incomplete_date=min(incomplete) if incomplete else None,
                first_incomplete_hour=min(hours, key=dt.datetime.fromisoformat) if hours else None,
                # The earliest answer, on Google's clock where it said (Date header).
                fetched_on=min(served) if served else self.fetched_on,
            )
            for date, date_rows in by_date.items()
        }


def _split_by_date(plan: RangeRequest, rows: list[Row]) -> dict[dt.date, list[Row]]:
    if plan.days == 1:
        return {plan.start_date: rows}  # the write path checks the rows' dates
    buckets: dict[str, list[Row]] = {date.isoformat(): [] for date in plan.dates}
    for row in rows:
        bucket = buckets.get(row[0])
        if bucket is None:
            raise MalformedResponseError(
                f"Search Console answered the request for {plan.describe()}, report "
                f"{plan.report.name!r} with a row for {row[0]!r}, outside the requested dates"
            )
        bucket.append(row)
    return {dt.date.fromisoformat(key): value for key, value in buckets.items()}


def share_first_incomplete(batches: list[ReportData]) -> None:
    """Google's `first_incomplete_date` is a statement about the date, whichever request
    carried it: give every batch of one slice (rows, totals) the earliest one any held."""
    found = [b.first_incomplete_date for b in batches if b.first_incomplete_date is not None]
    if found:
        earliest = min(found)
        for batch in batches:
            batch.first_incomplete_date = earliest
