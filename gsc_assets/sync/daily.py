"""Fetch a report for a run of dates and write each date atomically as soon as it is complete.

Plain Python (no Dagster types), so it is testable with a simulator and a warehouse alone. The
fetcher streams days in order while the next ones are already being fetched; each date's slices
(every site x search type) are written in one transaction, so a date is either wholly the old
version or wholly the new one.

Write-audit-publish: a report with a reconciliation (`totals.reconciliation_for`) is fetched
together with Google's totals of its aggregation type for the same day; the totals are stored and
the like-for-like audit (`quality.audit_written_date`) runs inside the date's transaction. A
failed audit raises `AuditFailedError` and rolls the date back, so the previous version stays
visible and nothing downstream (lifetime stats) sees it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.warehouse.quality import audit_written_date
from gsc_assets.warehouse.totals import replace_totals
from gsc_assets.warehouse.writes import replace_partition


class UnsupportedCombinationError(ValueError):
    """A report was requested for a search type Google rejects it for; raised before any request."""


@dataclass
class SyncOutcome:
    """What one sync of one report over some dates did."""

    report: Report
    dates: list[dt.date] = field(default_factory=list)
    slices: int = 0
    rows_fetched: int = 0
    rows_written: int = 0
    rows_deleted: int = 0
    non_final_slices: int = 0
    non_final_dates: list[dt.date] = field(default_factory=list)
    truncated_slices: int = 0
    not_offered_slices: int = 0
    write_seconds: float = 0.0
    batches_by_date: dict[dt.date, list[ReportData]] = field(default_factory=dict)


def day_slices(
    report: Report,
    dates: Iterable[dt.date],
    sites: Sequence[str],
    search_types: Sequence[SearchType],
) -> list[DaySlice]:
    """Every (site, date, search type) the report covers, date-major so dates finish in order.

    Raises UnsupportedCombinationError, naming every problem, when Google rejects the report for
    one of `search_types` (e.g. a query dimension for discover): callers choose the types.
    """
    problems = [problem for t in search_types for problem in report.problems_for(t)]
    if problems:
        raise UnsupportedCombinationError("; ".join(problems))
    return [
        DaySlice(site, date, search_type)
        for date in dates
        for site in sites
        for search_type in search_types
    ]


def supported_search_types(
    report: Report, search_types: Sequence[SearchType]
) -> tuple[SearchType, ...]:
    """The search types Google allows `report` for (no query for discover/googleNews, ...)."""
    return tuple(t for t in search_types if not report.problems_for(t))


def not_offered_search_types(
    report: Report, search_types: Sequence[SearchType]
) -> dict[SearchType, str]:
    """The search types Google does not offer `report` for, each with the reason (types the
    report itself leaves out are neither fetched nor recorded)."""
    return {
        t: "; ".join(problems)
        for t in search_types
        if t in report.search_types and (problems := report.refused_by_google(t))
    }


def sync_report(
    fetcher: PartitionFetcher,
    engine: sa.Engine,
    report: Report,
    dates: Sequence[dt.date],
    *,
    sites: Sequence[str],
    search_types: Sequence[SearchType],
    data_state: DataState,
    run_id: str | None = None,
    log: Callable[[str], None] = lambda _message: None,
    keep_batches: bool = False,
    not_offered: Sequence[SearchType] = (),
) -> SyncOutcome:
    """Fetch `report` for `dates` and replace each date's partition as soon as it is complete.

    `not_offered` are search types Google offers no such data for: nothing is requested for
    them, and each of their slices is recorded in the sync log as "not_offered" with the date.
    Raises UnsupportedCombinationError before any request for a report/search-type combination
    Google rejects, and AuditFailedError when a date fails its audit (earlier dates stay written).
    """
    outcome = SyncOutcome(report=report)
    days = day_slices(report, dates, sites, search_types)
    unoffered = [
        ReportData(DaySlice(site, date, search_type), report, offered=False)
        for date in dates
        for site in sites
        for search_type in not_offered
    ]
    reconciliation = reconciliation_for(report)
    fetched = [report, reconciliation.totals_report] if reconciliation else [report]
    slices_per_date = {date: 0 for date in dates}
    for day in days:
        slices_per_date[day.date] += 1
    pending: dict[dt.date, list[dict[str, ReportData]]] = {}
    unoffered_by_date: dict[dt.date, list[ReportData]] = {}
    for batch in unoffered:
        unoffered_by_date.setdefault(batch.day.date, []).append(batch)

    def write(date: dt.date, slices: list[dict[str, ReportData]]) -> None:
        extra = unoffered_by_date.get(date, [])
        _write_date(engine, report, date, slices, extra, outcome, run_id, log, keep_batches)

    for date in [d for d, count in slices_per_date.items() if count == 0]:
        write(date, [])
    for day, results in fetcher.iter_days(days, fetched, data_state):
        slices = pending.setdefault(day.date, [])
        slices.append(results)
        if len(slices) == slices_per_date[day.date]:
            del pending[day.date]
            write(day.date, slices)
    return outcome


def _publish_audit(
    report: Report, date: dt.date, totals: Sequence[ReportData]
) -> Callable[[sa.Connection], None]:
    """Store the totals fetched with the rows, then audit the date, on the write transaction."""

    def audit(conn: sa.Connection) -> None:
        replace_totals(conn, report, totals)
        audit_written_date(conn, report, date)

    return audit


def _write_date(
    engine: sa.Engine,
    report: Report,
    date: dt.date,
    slices: list[dict[str, ReportData]],
    unoffered: list[ReportData],
    outcome: SyncOutcome,
    run_id: str | None,
    log: Callable[[str], None],
    keep_batches: bool,
) -> None:
    started = time.perf_counter()
    batches = [results[report.name] for results in slices] + unoffered
    reconciliation = reconciliation_for(report)
    audit = None
    if reconciliation is not None:
        name = reconciliation.totals_report.name
        totals = [results[name] for results in slices if name in results]
        audit = _publish_audit(report, date, totals)
    result = replace_partition(engine, report, batches, run_id=run_id, audit=audit)
    outcome.write_seconds += time.perf_counter() - started
    outcome.dates.append(date)
    outcome.slices += len(batches) - len(unoffered)
    outcome.not_offered_slices += len(unoffered)
    outcome.rows_fetched += sum(len(b.rows) for b in batches)
    outcome.rows_written += result.rows_inserted
    outcome.rows_deleted += result.rows_deleted
    outcome.non_final_slices += sum(1 for b in batches if not b.is_final)
    if any(not b.is_final for b in batches):
        outcome.non_final_dates.append(date)
    outcome.truncated_slices += sum(1 for b in batches if b.truncated)
    if keep_batches:
        outcome.batches_by_date[date] = batches
    log(
        f"{report.table} {date.isoformat()}: wrote {result.rows_inserted} rows for "
        f"{len(batches)} site/type slices (replaced {result.rows_deleted})"
    )
