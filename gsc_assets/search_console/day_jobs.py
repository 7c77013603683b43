"""One DaySlice's fetch in progress: which pages arrived, which reports are still open.

A `DayJob` keys pages by `WorkUnit` (day, report, start_row), so a unit answered twice (a
re-queued request whose earlier answer also arrives) REPLACES its page instead of appending
rows a second time, and only the first answer of a unit can open the next page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState
from gsc_assets.search_console.models import QueryPage, QueryRequest


@dataclass(frozen=True)
class WorkUnit:
    """One request's identity: a retried unit replaces, never adds to, its result."""

    day: DaySlice
    report_name: str
    start_row: int


class DayJob:
    """Every page fetched so far for one DaySlice, keyed by work unit (a retry replaces)."""

    def __init__(
        self,
        day: DaySlice,
        reports: Sequence[Report],
        data_state: DataState,
        fetched_on: dt.date | None = None,
    ) -> None:
        self.day = day
        self.data_state = data_state
        self.fetched_on = fetched_on  # the Pacific date the fetch began (finality by age)
        self.reports = {report.name: report for report in reports}
        self.open_reports = set(self.reports)
        self.pages: dict[WorkUnit, QueryPage] = {}
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.discarded = False
        self.row_count = 0  # rows held in `pages`

    @property
    def done(self) -> bool:
        """True once every report has received its last (short or empty) page."""
        return not self.open_reports

    def first_units(self) -> list[WorkUnit]:
        """The first page of every report: the units a new day starts with."""
        return [WorkUnit(self.day, name, 0) for name in self.reports]

    def request(self, unit: WorkUnit, row_limit: int) -> QueryRequest:
        """The searchAnalytics.query request for one of this day's units."""
        report = self.reports[unit.report_name]
        return QueryRequest(
            site_url=self.day.site_url,
            start_date=self.day.date,
            end_date=self.day.date,
            dimensions=report.request_dimensions,
            search_type=self.day.search_type,
            aggregation_type=report.aggregation_type,
            data_state=self.data_state,
            row_limit=row_limit,
            start_row=unit.start_row,
            dimension_filter_groups=report.dimension_filter_groups,
        )

    def accept(self, unit: WorkUnit, page: QueryPage, row_limit: int) -> WorkUnit | None:
        """Store `page` as the answer of `unit`; return the next page's unit if one is due.

        A unit answered again replaces its earlier page and returns None: the next page (or
        the report's completion) was already decided by the first answer.
        """
        earlier = self.pages.get(unit)
        self.pages[unit] = page  # replace, never append: units are idempotent
        self.row_count += len(page.rows) - (len(earlier.rows) if earlier is not None else 0)
        first_answer = earlier is None
        if not first_answer:
            return None
        if len(page.rows) >= row_limit:
            return replace(unit, start_row=unit.start_row + row_limit)
        self.open_reports.discard(unit.report_name)
        return None

    def result(self) -> dict[str, ReportData]:
        """Each report's rows, pages concatenated in start_row order.

        Google's `first_incomplete_date` is a statement about the date, whichever of the day's
        requests carried it: every report of the day gets the earliest one any answer held.
        """
        incomplete = [
            p.first_incomplete_date for p in self.pages.values() if p.first_incomplete_date
        ]
        first_incomplete = min(incomplete) if incomplete else None
        return {
            name: self._report_data(report, first_incomplete)
            for name, report in self.reports.items()
        }

    def _report_data(self, report: Report, first_incomplete: dt.date | None) -> ReportData:
        units = sorted(
            (unit for unit in self.pages if unit.report_name == report.name),
            key=lambda unit: unit.start_row,
        )
        pages = [self.pages[unit] for unit in units]
        served = [p.served_on for p in self.pages.values() if p.served_on is not None]
        incomplete_hours = [p.first_incomplete_hour for p in pages if p.first_incomplete_hour]
        return ReportData(
            day=self.day,
            report=report,
            rows=[row for page in pages for row in page.rows],
            requests=self.requests[report.name],
            retries=self.retries[report.name],
            throttled=self.throttled[report.name],
            pages=len(pages),
            data_state=self.data_state,
            first_incomplete_date=first_incomplete,
            first_incomplete_hour=min(incomplete_hours, key=dt.datetime.fromisoformat)
            if incomplete_hours
            else None,
            # The earliest answer of the day, on Google's clock where it said (Date header).
            fetched_on=min(served) if served else self.fetched_on,
        )
