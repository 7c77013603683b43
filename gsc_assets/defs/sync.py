"""Fetch a report for a run of dates and write each date atomically as soon as it is complete.

Plain Python (no Dagster types), so it is testable with a simulator and a warehouse alone. The
fetcher streams days in order while the next ones are already being fetched; each date's slices
(every site x search type) are written in one transaction, so a date is either wholly the old
version or wholly the new one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.models import DataState, DaySlice, Report, ReportData, SearchType
from gsc_assets.warehouse.writes import replace_partition

AuditFactory = Callable[[dt.date, Sequence[ReportData]], Callable[[sa.Connection], None] | None]


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
    truncated_slices: int = 0
    write_seconds: float = 0.0
    batches_by_date: dict[dt.date, list[ReportData]] = field(default_factory=dict)


def day_slices(
    report: Report,
    dates: Iterable[dt.date],
    sites: Sequence[str],
    search_types: Sequence[SearchType],
) -> list[DaySlice]:
    """Every (site, date, search type) the report covers, date-major so dates finish in order."""
    return [
        DaySlice(site, date, search_type)
        for date in dates
        for site in sites
        for search_type in search_types
        if not report.problems_for(search_type)
    ]


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
    audit_for: AuditFactory | None = None,
    log: Callable[[str], None] = lambda _message: None,
    keep_batches: bool = False,
) -> SyncOutcome:
    """Fetch `report` for `dates` and replace each date's partition as soon as it is complete."""
    outcome = SyncOutcome(report=report)
    days = day_slices(report, dates, sites, search_types)
    slices_per_date = {date: 0 for date in dates}
    for day in days:
        slices_per_date[day.date] += 1
    pending: dict[dt.date, list[ReportData]] = {}
    for date in [d for d, count in slices_per_date.items() if count == 0]:
        _write_date(engine, report, date, [], outcome, run_id, audit_for, log, keep_batches)
    for day, results in fetcher.iter_days(days, [report], data_state):
        batches = pending.setdefault(day.date, [])
        batches.append(results[report.name])
        if len(batches) == slices_per_date[day.date]:
            del pending[day.date]
            _write_date(engine, report, day.date, batches, outcome, run_id, audit_for, log, keep_batches)
    return outcome


def _write_date(
    engine: sa.Engine,
    report: Report,
    date: dt.date,
    batches: list[ReportData],
    outcome: SyncOutcome,
    run_id: str | None,
    audit_for: AuditFactory | None,
    log: Callable[[str], None],
    keep_batches: bool,
) -> None:
    started = time.perf_counter()
    audit = audit_for(date, batches) if audit_for else None
    result = replace_partition(engine, report, batches, run_id=run_id, audit=audit)
    outcome.write_seconds += time.perf_counter() - started
    outcome.dates.append(date)
    outcome.slices += len(batches)
    outcome.rows_fetched += sum(len(b.rows) for b in batches)
    outcome.rows_written += result.rows_inserted
    outcome.rows_deleted += result.rows_deleted
    outcome.non_final_slices += sum(1 for b in batches if not b.is_final)
    outcome.truncated_slices += sum(1 for b in batches if b.truncated)
    if keep_batches:
        outcome.batches_by_date[date] = batches
    log(
        f"{report.table} {date.isoformat()}: wrote {result.rows_inserted} rows for "
        f"{len(batches)} site/type slices (replaced {result.rows_deleted})"
    )
