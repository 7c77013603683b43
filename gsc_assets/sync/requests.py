"""Fetch a report's dates with the fewest requests and hand over each date once it is whole.

The requests come from `search_console.planner`: consecutive dates packed into one `[date]`
request while their expected rows fit one page, learned from the sync log's recent days
(`expected`) or, without history, from one probe date fetched alone first; the totals a report
reconciles against fetched once per site/type/date range, and once per run when several
reports reconcile against the same totals (`SharedTotals`). A date is handed to `on_date` as
soon as every piece of it has arrived - the rows of each of its (site, search type) slices
and, when the report reconciles, their totals - in whatever order requests complete. A packed
request is delivered only once all its pages are in, so a date is never handed over partly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence

from gsc_assets.reports.reconciliation import reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState
from gsc_assets.search_console.day_jobs import share_first_incomplete
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.planner import (
    RangeRequest,
    SiteType,
    one_day,
    plan_requests,
    probe_days,
)


class DateSlices:
    """What one date is made of so far: per slice, the report's rows and (maybe) totals."""

    def __init__(self, slices: Sequence[DaySlice], reports: Sequence[Report]) -> None:
        self.names = [report.name for report in reports]
        self.missing = len(slices) * len(reports)
        self.slices: dict[DaySlice, dict[str, ReportData]] = {day: {} for day in slices}

    def add(self, batch: ReportData) -> bool:
        """Store one piece; True once the date is whole."""
        pieces = self.slices[batch.day]
        if batch.report.name not in pieces:
            self.missing -= 1
        pieces[batch.report.name] = batch
        return self.missing == 0

    def by_report(self) -> list[dict[str, ReportData]]:
        """Each slice's pieces by report name, first_incomplete_date shared within a slice."""
        result = []
        for pieces in self.slices.values():
            share_first_incomplete(list(pieces.values()))
            result.append(pieces)
        return result


OnDate = Callable[[dt.date, list[dict[str, ReportData]]], None]


class SharedTotals:
    """Final totals fetched during one run, reused by every report that reconciles against them.

    The page and page x query reports both reconcile against the byPage `[date]` totals: in
    one run the second takes the first's instead of asking Google again. Totals are kept by
    what their request asks Google (dimensions, aggregation type, filters), so reports with
    other filters never share. Only final days are kept (their numbers no longer change); a
    reuse is a copy, for the asking report's totals, that made no request of its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[tuple[object, DataState, DaySlice], ReportData] = {}

    def take(self, report: Report, data_state: DataState, day: DaySlice) -> ReportData | None:
        """A copy of the totals kept for `day` as `report`, with no requests counted, or None."""
        with self._lock:
            kept = self._batches.get((_asks(report), data_state, day))
        if kept is None:
            return None
        return dataclasses.replace(
            kept, report=report, rows=list(kept.rows), requests=0, retries=0, throttled=0, pages=0
        )

    def keep(self, batch: ReportData) -> None:
        """Keep `batch` for later reports of the run if its day is final."""
        if batch.is_final:
            with self._lock:
                self._batches[(_asks(batch.report), batch.data_state, batch.day)] = batch


def _asks(report: Report) -> object:
    """What a request for `report` asks Google: equal for reports Google answers alike."""
    return (report.request_dimensions, report.aggregation_type, report.dimension_filters)


def fetch_dates(
    fetcher: PartitionFetcher,
    report: Report,
    days: Sequence[DaySlice],
    data_state: DataState,
    on_date: OnDate,
    *,
    expected: Mapping[SiteType, int] | None = None,
    shared_totals: SharedTotals | None = None,
) -> int:
    """Fetch `report` (and its totals) for `days`; call `on_date(date, slices)` for each date
    as soon as it is whole, where `slices` holds one {report name: ReportData} per slice.

    Totals found in `shared_totals` are not requested again; the ones fetched are kept there.
    Returns how many requests were planned (ranges of dates, not counting pages).
    """
    reconciliation = reconciliation_for(report)
    reports = [report, reconciliation.totals_report] if reconciliation else [report]
    by_date: dict[dt.date, list[DaySlice]] = {}
    for day in days:
        by_date.setdefault(day.date, []).append(day)
    board = {date: DateSlices(slices, reports) for date, slices in by_date.items()}
    learned = dict(expected or {})
    limit = fetcher.row_limit
    shared = shared_totals if shared_totals is not None else SharedTotals()
    totals_days = []
    if reconciliation:
        for day in days:
            kept = shared.take(reconciliation.totals_report, data_state, day)
            if kept is None:
                totals_days.append(day)
            else:
                board[day.date].add(kept)
    totals = (
        plan_requests(reconciliation.totals_report, totals_days, row_limit=limit)
        if reconciliation and totals_days
        else []
    )
    probes = set(probe_days(report, days, learned))
    planned = 0

    def run(plans: list[RangeRequest]) -> None:
        for plan, results in fetcher.iter_requests(plans, data_state):
            for date, batch in results.items():
                if plan.report is report and batch.day in probes:  # learn rows per day
                    learned[(plan.site_url, plan.search_type)] = len(batch.rows)
                if reconciliation and plan.report is reconciliation.totals_report:
                    shared.keep(batch)
                if board[date].add(batch):
                    on_date(date, board.pop(date).by_report())

    if probes:
        first = [*totals, *(one_day(report, day) for day in sorted(probes, key=_order))]
        run(first)
        planned, totals = len(first), []
    unprobed = [d for d in days if d not in probes]
    rest = [*totals, *plan_requests(report, unprobed, learned, row_limit=limit)]
    run(rest)
    return planned + len(rest)


def _order(day: DaySlice) -> tuple[dt.date, str, str]:
    return day.date, day.site_url, str(day.search_type)
