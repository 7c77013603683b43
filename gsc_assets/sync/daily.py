"""Fetch a report for some days and publish each date atomically as soon as it is complete.

Plain Python (no Dagster types), so it is testable with a simulator and a warehouse alone. The
requests are planned (`sync.requests`, `search_console.planner`): consecutive dates share a
request when their rows fit one page. Each date's slices (every site x search type) are
published in one transaction (`warehouse.publish.publish_date`) as soon as all of them are in,
in completion order, so a date is either wholly the old version or wholly the new one. Daily
and hourly reports take the same path: hourly is a time grain of a report (dataState
hourly_all), not a copy.

Write-audit-publish: a report with a reconciliation (`reports.reconciliation`) is fetched
together with Google's totals of its aggregation type for the same dates (one request per
site, type and range of dates); the totals are stored
and the like-for-like audit runs inside the date's transaction. A failed audit raises
`AuditFailedError` and rolls the date back, so the previous version stays visible and nothing
downstream (lifetime stats) sees it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.planner import SiteType
from gsc_assets.sync.requests import SharedTotals, fetch_dates
from gsc_assets.warehouse.publish import publish_date
from gsc_assets.warehouse.sync_log import recent_rows_per_day

Log = Callable[[str], None]


class UnsupportedCombinationError(ValueError):
    """A report was requested for a search type Google rejects it for; raised before any request."""


@dataclass
class DateOutcome:
    """What one published date holds: its own rows, requests and finality (per-date metadata)."""

    rows: int = 0
    slices: int = 0
    requests: int = 0
    retries: int = 0
    final: bool = True


@dataclass
class SyncOutcome:
    """What one sync of one report over some days did."""

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
    by_date: dict[dt.date, DateOutcome] = field(default_factory=dict)
    incomplete_hours: int = 0  # hourly reports: hours Google may still change
    first_incomplete_hour: str | None = None
    planned_requests: int = 0  # ranges of dates requested (each one or more pages)


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
    log: Log = lambda _message: None,
    not_offered: Sequence[SearchType] = (),
    shared_totals: SharedTotals | None = None,
) -> SyncOutcome:
    """Fetch `report` for `dates` and replace each date's partition as soon as it is complete.

    `not_offered` are search types Google offers no such data for: nothing is requested for
    them, and each of their slices is recorded in the sync log as "not_offered" with the date.
    `shared_totals` (one per run) lets reports reconciling against the same totals share them.
    Raises UnsupportedCombinationError before any request for a report/search-type combination
    Google rejects, and AuditFailedError when a date fails its audit (earlier dates stay written).
    """
    days = day_slices(report, dates, sites, search_types)
    unoffered = [
        ReportData(DaySlice(site, date, search_type), report, offered=False)
        for date in dates
        for site in sites
        for search_type in not_offered
    ]
    return sync_days(
        fetcher,
        engine,
        report,
        days,
        data_state,
        run_id=run_id,
        log=log,
        unoffered=unoffered,
        dates=dates,
        rows_per_day=recent_rows_per_day(engine, report, dates) if days else None,
        shared_totals=shared_totals,
    )


def sync_days(
    fetcher: PartitionFetcher,
    engine: sa.Engine,
    report: Report,
    days: Sequence[DaySlice],
    data_state: DataState,
    *,
    run_id: str | None = None,
    log: Log = lambda _message: None,
    unoffered: Sequence[ReportData] = (),
    dates: Sequence[dt.date] = (),
    rows_per_day: Mapping[SiteType, int] | None = None,
    shared_totals: SharedTotals | None = None,
) -> SyncOutcome:
    """Fetch `report` for `days` and publish each date once all its slices have arrived.

    `dates` with no slice at all (and the dates of `unoffered` slices) are published too, so
    their sync-log rows say so. Dates are published in the order their last piece arrives.
    `rows_per_day` (recent rows per day by site and search type, from the sync log) lets the
    planner pack consecutive dates into one request (`sync.requests`).
    """
    outcome = SyncOutcome(report=report)
    expected = Counter(day.date for day in days)
    unoffered_by_date: dict[dt.date, list[ReportData]] = {}
    for batch in unoffered:
        unoffered_by_date.setdefault(batch.day.date, []).append(batch)
    for date in dict.fromkeys([*dates, *unoffered_by_date]):
        if not expected[date]:
            _publish(engine, report, date, [], unoffered_by_date.get(date, []), outcome, run_id)

    def on_date(date: dt.date, slices: list[dict[str, ReportData]]) -> None:
        extra = unoffered_by_date.get(date, [])
        _publish(engine, report, date, slices, extra, outcome, run_id)

    outcome.planned_requests = fetch_dates(
        fetcher,
        report,
        days,
        data_state,
        on_date,
        expected=rows_per_day,
        shared_totals=shared_totals,
    )
    log(summary_line(outcome))
    return outcome


def summary_line(outcome: SyncOutcome) -> str:
    """One line for the whole sync. Each date's numbers are in its own materialization; a log
    line per date cost a Dagster run one event-log write each (~10 ms on a SQLite instance)."""
    dates = sorted(outcome.dates)
    span = f"{dates[0].isoformat()}..{dates[-1].isoformat()}" if dates else "no dates"
    not_final = f", {len(outcome.non_final_dates)} not final yet" if outcome.non_final_dates else ""
    return (
        f"{outcome.report.table}: wrote {outcome.rows_written:,} rows for {len(dates)} dates "
        f"({span}, {outcome.slices} site/type slices, replaced {outcome.rows_deleted:,} rows)"
        f"{not_final}"
    )


def _publish(
    engine: sa.Engine,
    report: Report,
    date: dt.date,
    slices: list[dict[str, ReportData]],
    unoffered: list[ReportData],
    outcome: SyncOutcome,
    run_id: str | None,
) -> None:
    started = time.perf_counter()
    fetched = [results[report.name] for results in slices]
    batches = fetched + unoffered
    reconciliation = reconciliation_for(report)
    totals = (
        [results[reconciliation.totals_report.name] for results in slices]
        if reconciliation is not None
        else []
    )
    result = publish_date(engine, report, date, batches, totals=totals, run_id=run_id)
    outcome.write_seconds += time.perf_counter() - started
    _count(outcome, date, fetched, totals, result.rows_inserted, result.rows_deleted)
    outcome.not_offered_slices += len(unoffered)


def _count(
    outcome: SyncOutcome,
    date: dt.date,
    fetched: list[ReportData],
    totals: list[ReportData],
    inserted: int,
    deleted: int,
) -> None:
    final = all(batch.is_final for batch in fetched)
    outcome.dates.append(date)
    outcome.slices += len(fetched)
    outcome.rows_fetched += sum(len(b.rows) for b in fetched)
    outcome.rows_written += inserted
    outcome.rows_deleted += deleted
    outcome.non_final_slices += sum(1 for b in fetched if not b.is_final)
    if not final:
        outcome.non_final_dates.append(date)
    outcome.truncated_slices += sum(1 for b in fetched if b.truncated)
    outcome.by_date[date] = DateOutcome(
        rows=inserted,
        slices=len(fetched),
        requests=sum(b.requests for b in (*fetched, *totals)),
        retries=sum(b.retries for b in (*fetched, *totals)),
        final=final,
    )
    for batch in fetched:
        if batch.report.is_hourly and batch.first_incomplete_hour:
            first = dt.datetime.fromisoformat(batch.first_incomplete_hour)
            outcome.first_incomplete_hour = batch.first_incomplete_hour
            outcome.incomplete_hours += sum(
                1 for row in batch.rows if dt.datetime.fromisoformat(row[0]) >= first
            )
