"""Partition writes: replace whole (site_url, date, search_type) slices of a report, atomically.

Replacing, never appending, makes a re-run idempotent and lets late data overwrite fresh data.
All of a call's slices, their sync-log rows, the lifetime dirty marks and the caller's audit
share ONE transaction: readers see the previous version until commit, then the new one.

Daily and hourly reports share this path: an hourly report's rows are keyed by Google's hour
(`hourly_values`, with `is_complete` per hour), a daily report's by its date (`slice_values`).
Rows go to the driver through `bulk.insert_rows`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.bulk import insert_rows
from gsc_assets.warehouse.engine import (
    WarehouseUnavailableError,
    begin_write,
    describe_url,
    insert_ignoring_duplicates,
    is_sqlite,
    lock_for_transaction,
)
from gsc_assets.warehouse.schema import gsc_lifetime_dirty, gsc_page_daily, table_for
from gsc_assets.warehouse.sync_log import append_sync_stmt, sync_log_values

# A lost PostgreSQL connection (server restart, failover, a terminated backend) rolls the
# transaction back, so the whole replace is simply tried again: 0.25 + 0.5 + 1 + 2 s between
# five attempts rides out a restart of a few seconds.
WRITE_ATTEMPTS = 5
WRITE_RETRY_BASE_SECONDS = 0.25

Audit = Callable[[sa.Connection], None]


@dataclass(frozen=True)
class WriteResult:
    """What one replace_partition call changed."""

    rows_deleted: int
    rows_inserted: int
    slices: tuple[DaySlice, ...]


def replace_partition(
    engine: sa.Engine,
    report: Report,
    batches: Sequence[ReportData],
    *,
    run_id: str | None = None,
    audit: Audit | None = None,
) -> WriteResult:
    """Replace each batch's slice of `report`'s table with the batch's rows, in one transaction.

    Per batch: mark the slice's old pages dirty (page report only), delete the slice, insert the
    rows, mark the new pages dirty, append a sync-log row. Then `audit(conn)` runs inside the
    transaction; if it raises, everything is rolled back and the previous version stays.
    A lost PostgreSQL connection rolls back and retries the whole transaction (WRITE_ATTEMPTS),
    then raises WarehouseUnavailableError.
    """
    table = table_for(report)
    _check_batches(report, batches)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return _replace_once(engine, table, batches, run_id, audit)
        except sa.exc.DBAPIError as exc:
            if not is_connection_loss(engine, exc):
                raise
            if attempt == WRITE_ATTEMPTS:
                raise WarehouseUnavailableError(
                    _connection_lost_message(engine, table, batches, exc)
                ) from exc
            time.sleep(WRITE_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def is_connection_loss(engine: sa.Engine, exc: sa.exc.DBAPIError) -> bool:
    """True when `exc` means the PostgreSQL connection broke (the transaction is rolled back).

    SQLite's OperationalErrors (locked, disk I/O) are not retried: they are not transient here.
    """
    return exc.connection_invalidated or (
        not is_sqlite(engine) and isinstance(exc, sa.exc.OperationalError)
    )


def _connection_lost_message(
    engine: sa.Engine, table: sa.Table, batches: Sequence[ReportData], exc: sa.exc.DBAPIError
) -> str:
    said = (str(exc.orig or exc).strip().splitlines() or [""])[0]
    dates = sorted({batch.day.date.isoformat() for batch in batches})
    return (
        f"lost the connection to the warehouse database at {describe_url(engine)} while "
        f"replacing {table.name} for {', '.join(dates) or 'no dates'} ({said}), and it did not "
        f"come back within {WRITE_ATTEMPTS} attempts. Nothing of this partition was written "
        "(the transaction was rolled back; readers still see the previous version). Check "
        "GSC_DATABASE_URL and that the database server is running, then re-run the partition."
    )


def _replace_once(
    engine: sa.Engine,
    table: sa.Table,
    batches: Sequence[ReportData],
    run_id: str | None,
    audit: Audit | None,
) -> WriteResult:
    deleted = inserted = 0
    with begin_write(engine) as conn:
        _lock_slices(conn, table, batches)
        for batch in batches:
            slice_deleted, slice_inserted = _replace_slice(conn, table, batch)
            conn.execute(append_sync_stmt(), sync_log_values(batch, slice_inserted, run_id))
            deleted += slice_deleted
            inserted += slice_inserted
        if audit is not None:
            audit(conn)
    return WriteResult(deleted, inserted, tuple(batch.day for batch in batches))


def _check_batches(report: Report, batches: Sequence[ReportData]) -> None:
    seen: set[DaySlice] = set()
    for batch in batches:
        if batch.report.name != report.name:
            raise ValueError(
                f"batch for {batch.day.describe()} holds report {batch.report.name!r}, "
                f"not {report.name!r}"
            )
        if batch.day in seen:
            raise ValueError(f"{batch.day.describe()} appears twice in one replace_partition call")
        seen.add(batch.day)


def _lock_slices(conn: sa.Connection, table: sa.Table, batches: Sequence[ReportData]) -> None:
    # Concurrent writers of one slice take turns; a fixed order keeps them from deadlocking.
    names = sorted(
        (day.site_url, day.date.isoformat(), SearchType.parse(day.search_type).value)
        for day in (batch.day for batch in batches)
    )
    for name in names:
        lock_for_transaction(conn, table.name, *name)


def _replace_slice(conn: sa.Connection, table: sa.Table, batch: ReportData) -> tuple[int, int]:
    day = batch.day
    search_type = SearchType.parse(day.search_type).value
    values = row_values(batch)
    tracks_lifetime = table is gsc_page_daily
    if tracks_lifetime:
        conn.execute(mark_slice_pages_dirty_stmt(conn), _slice_params(day, search_type))
    deleted = conn.execute(delete_slice_stmt(table), _slice_params(day, search_type)).rowcount
    inserted = insert_rows(conn, table, values)
    if tracks_lifetime:
        conn.execute(mark_slice_pages_dirty_stmt(conn), _slice_params(day, search_type))
    return deleted, inserted


def slice_values(batch: ReportData) -> list[tuple[Any, ...]]:
    """The batch's rows as column-ordered tuples: (site_url, date, search_type, *keys, metrics).

    Rows must have one key per requested dimension and, where the date is one of them (every
    report but searchAppearance ones, which take their date from the one-day request), all name
    the batch's date; else ValueError.
    """
    day = batch.day
    date_text = day.date.isoformat()
    report = batch.report
    width = len(report.request_dimensions) + 4
    rows = batch.rows
    if {len(row) for row in rows} - {width}:
        keys = ", ".join(d.value for d in report.request_dimensions) or "no keys"
        raise ValueError(
            f"{day.describe()}, report {report.name!r}: every row must have {width} fields "
            f"(one key per requested dimension ({keys}), clicks, impressions, ctr, position)"
        )
    prefix = (day.site_url, date_text, SearchType.parse(day.search_type).value)
    if not report.keys_name_the_time:
        return [prefix + tuple(row) for row in rows]
    stray_dates = {row[0] for row in rows} - {date_text}
    if stray_dates:
        raise ValueError(
            f"{day.describe()}, report {report.name!r}: rows for other dates "
            f"{sorted(map(str, stray_dates))[:3]}"
        )
    return [prefix + tuple(row[1:]) for row in rows]


def hourly_values(batch: ReportData) -> list[tuple[Any, ...]]:
    """Column-ordered tuples: (site_url, date, search_type, hour, *keys, metrics, is_complete).

    Every hour must belong to the batch's Pacific date; else ValueError.
    """
    day = batch.day
    first_incomplete = (
        dt.datetime.fromisoformat(batch.first_incomplete_hour)
        if batch.first_incomplete_hour
        else None
    )
    prefix = (day.site_url, day.date.isoformat(), SearchType.parse(day.search_type).value)
    values = []
    for row in batch.rows:
        hour = dt.datetime.fromisoformat(row[0])
        if hour.date() != day.date:
            raise ValueError(
                f"{day.describe()}, report {batch.report.name!r}: hour {row[0]!r} is another day"
            )
        complete = first_incomplete is None or hour < first_incomplete
        values.append((*prefix, *row, complete))
    return values


def row_values(batch: ReportData) -> list[tuple[Any, ...]]:
    """The batch's rows as column-ordered tuples of its report's table (daily or hourly)."""
    return hourly_values(batch) if batch.report.is_hourly else slice_values(batch)


def _slice_params(day: DaySlice, search_type: str) -> dict[str, Any]:
    return {"site_url": day.site_url, "date": day.date, "search_type": search_type}


def _slice_filter(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.site_url == sa.bindparam("site_url"),
        table.c.date == sa.bindparam("date", type_=sa.Date),
        table.c.search_type == sa.bindparam("search_type"),
    )


def delete_slice_stmt(table: sa.Table) -> sa.Delete:
    """DELETE one (site_url, date, search_type) slice; bind site_url, date, search_type."""
    return sa.delete(table).where(_slice_filter(table))


def mark_slice_pages_dirty_stmt(conn: sa.Connection) -> sa.Insert:
    """Add the distinct pages of one gsc_page_daily slice to gsc_lifetime_dirty (ignore repeats)."""
    pages = (
        sa.select(gsc_page_daily.c.site_url, gsc_page_daily.c.search_type, gsc_page_daily.c.page)
        .where(_slice_filter(gsc_page_daily))
        .distinct()
    )
    columns = ["site_url", "search_type", "page"]
    insert: sa.Insert = (
        insert_ignoring_duplicates(conn, gsc_lifetime_dirty)
        .from_select(columns, pages)
        .on_conflict_do_nothing()
    )
    return insert
