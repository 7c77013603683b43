"""The sync log: an append-only audit trail of every (slice, report) written.

One row per write, in the same transaction as the data it describes, so the log never claims
rows that are not there. The latest row per (site_url, date, search_type, report) (highest id)
is the current state of that slice; older rows are history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import ReportData
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.warehouse.schema import gsc_sync_log


@dataclass(frozen=True)
class SyncRecord:
    """One entry of the sync log."""

    id: int
    site_url: str
    date: dt.date
    search_type: str
    report: str
    rows_fetched: int
    rows_stored: int
    requests: int
    retries: int
    throttled: int | None
    pages: int
    data_state: str
    is_final: bool
    first_incomplete_date: dt.date | None
    truncated: bool
    run_id: str | None
    synced_at: dt.datetime
    status: str | None = None  # "synced" / "not_offered"; None in rows from older releases
    sum_clicks: float | None = None  # sums of the metrics fetched; None in older rows
    sum_impressions: float | None = None
    sum_ctr: float | None = None
    sum_position: float | None = None


SYNCED, NOT_OFFERED = "synced", "not_offered"


def metric_sums(rows: list[tuple[Any, ...]]) -> tuple[float, float, float, float]:
    """Sums of clicks, impressions, ctr and (non-null) position over row tuples ending in them."""
    clicks = impressions = ctr = position = 0.0
    for row in rows:
        clicks += row[-4]
        impressions += row[-3]
        ctr += row[-2]
        if row[-1] is not None:
            position += row[-1]
    return clicks, impressions, ctr, position


def sync_log_values(batch: ReportData, rows_stored: int, run_id: str | None) -> dict[str, Any]:
    """The sync-log row describing `batch` once `rows_stored` of its rows are written.

    It records the count and the metric sums of what was fetched, which the stored slice must
    keep matching (`quality.rows_match_sync_log`), and whether Google offers the data at all.
    """
    clicks, impressions, ctr, position = metric_sums(batch.rows)
    return {
        "site_url": batch.day.site_url,
        "date": batch.day.date,
        "search_type": SearchType.parse(batch.day.search_type).value,
        "report": batch.report.name,
        "rows_fetched": len(batch.rows),
        "rows_stored": rows_stored,
        "requests": batch.requests,
        "retries": batch.retries,
        "throttled": batch.throttled,
        "pages": batch.pages,
        "data_state": str(batch.data_state),
        "is_final": batch.is_final,
        "first_incomplete_date": batch.first_incomplete_date,
        "truncated": batch.truncated,
        "run_id": run_id,
        "synced_at": dt.datetime.now(dt.UTC),
        "status": SYNCED if batch.offered else NOT_OFFERED,
        "sum_clicks": clicks,
        "sum_impressions": impressions,
        "sum_ctr": ctr,
        "sum_position": position,
    }


def append_sync_stmt() -> sa.Insert:
    """INSERT of one sync-log row; execute with `sync_log_values(...)`."""
    return sa.insert(gsc_sync_log)


def _key_filters(
    site_url: str | None,
    date: dt.date | None,
    search_type: SearchType | str | None,
    report: Report | str | None,
) -> list[sa.ColumnElement[bool]]:
    log = gsc_sync_log.c
    filters = []
    if site_url is not None:
        filters.append(log.site_url == site_url)
    if date is not None:
        filters.append(log.date == date)
    if search_type is not None:
        filters.append(log.search_type == SearchType.parse(search_type).value)
    if report is not None:
        filters.append(log.report == (report.name if isinstance(report, Report) else report))
    return filters


def latest_syncs_stmt(filters: list[sa.ColumnElement[bool]]) -> sa.Select:
    """The latest log row per (site_url, date, search_type, report) among rows matching filters."""
    log = gsc_sync_log.c
    latest_ids = (
        sa.select(sa.func.max(log.id))
        .where(*filters)
        .group_by(log.site_url, log.date, log.search_type, log.report)
    )
    return (
        sa.select(gsc_sync_log)
        .where(log.id.in_(latest_ids))
        .order_by(log.site_url, log.date, log.search_type, log.report)
    )


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def latest_syncs(
    engine: sa.Engine,
    *,
    site_url: str | None = None,
    date: dt.date | None = None,
    search_type: SearchType | str | None = None,
    report: Report | str | None = None,
) -> list[SyncRecord]:
    """The latest sync per (site_url, date, search_type, report), optionally narrowed."""
    stmt = latest_syncs_stmt(_key_filters(site_url, date, search_type, report))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [SyncRecord(**{**row, "synced_at": _as_utc(row["synced_at"])}) for row in rows]


def non_final_dates(
    engine: sa.Engine,
    *,
    site_url: str | None = None,
    search_type: SearchType | str | None = None,
    report: Report | str | None = None,
) -> list[dt.date]:
    """Dates whose latest daily sync (for any matching key) holds data that may still change.

    Hourly syncs are left out: their days are re-fetched by the hourly asset, and a day it
    stopped refreshing must not keep the daily window open forever.
    """
    records = latest_syncs(engine, site_url=site_url, search_type=search_type, report=report)
    hourly = DataState.HOURLY_ALL.value
    return sorted({r.date for r in records if not r.is_final and r.data_state != hourly})


def synced_dates(
    engine: sa.Engine, site_url: str, search_type: SearchType | str, report: Report | str
) -> list[dt.date]:
    """Every date ever written for (site_url, search_type, report), ascending."""
    log = gsc_sync_log.c
    stmt = (
        sa.select(log.date)
        .where(*_key_filters(site_url, None, search_type, report))
        .distinct()
        .order_by(log.date)
    )
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


RECENT_DAYS = 28  # how far before a run's first date the sync log is read for rows per day


def recent_rows_per_day(
    engine: sa.Engine, report: Report | str, dates: Sequence[dt.date]
) -> dict[tuple[str, SearchType], int]:
    """The most rows one recent day of `report` held, per (site_url, search type).

    Read from synced (not not_offered) log rows of the dates from RECENT_DAYS before the first
    of `dates` to the last; the request planner packs consecutive dates while their expected
    rows fit one page. Unknown (site, type) keys are simply absent.
    """
    if not dates:
        return {}
    log = gsc_sync_log.c
    name = report.name if isinstance(report, Report) else report
    stmt = (
        sa.select(log.site_url, log.search_type, sa.func.max(log.rows_fetched))
        .where(
            log.report == name,
            log.date >= min(dates) - dt.timedelta(days=RECENT_DAYS),
            log.date <= max(dates),
            sa.or_(log.status.is_(None), log.status == SYNCED),
        )
        .group_by(log.site_url, log.search_type)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return {(site, SearchType.parse(kind)): int(most) for site, kind, most in rows}
