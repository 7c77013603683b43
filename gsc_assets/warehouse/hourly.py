"""Hourly writes: replace whole (site_url, date, search_type) days of an hourly report, atomically.

Rows arrive as `(hour_key, *dimension_keys, clicks, impressions, ctr, position)`; each is
stored under its Pacific date with `is_complete` = the hour lies before the response's
`first_incomplete_hour` (all hours are complete when Google sent none). A day is replaced as a
whole, with its sync-log row, in one transaction: readers see the old hours or the new ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.slices import ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.engine import begin_write, lock_for_transaction
from gsc_assets.warehouse.schema import table_for
from gsc_assets.warehouse.sync_log import append_sync_stmt, sync_log_values
from gsc_assets.warehouse.writes import WriteResult, delete_slice_stmt, insert_rows


def replace_hourly_days(
    engine: sa.Engine, batches: Sequence[ReportData], *, run_id: str | None = None
) -> WriteResult:
    """Replace each batch's day of its hourly report with the batch's hours, in one transaction."""
    if not batches:
        return WriteResult(0, 0, ())
    report = batches[0].report
    if not report.is_hourly or any(b.report != report for b in batches):
        raise ValueError("replace_hourly_days takes batches of one hourly report")
    table = table_for(report)
    deleted = inserted = 0
    with begin_write(engine) as conn:
        # Concurrent writers of one day take turns; a fixed order keeps them from deadlocking.
        for name in sorted({_slice_name(batch) for batch in batches}):
            lock_for_transaction(conn, table.name, *name)
        for batch in batches:
            params = {
                "site_url": batch.day.site_url,
                "date": batch.day.date,
                "search_type": SearchType.parse(batch.day.search_type).value,
            }
            deleted += conn.execute(delete_slice_stmt(table), params).rowcount
            stored = insert_rows(conn, table, hourly_values(batch))
            conn.execute(append_sync_stmt(), sync_log_values(batch, stored, run_id))
            inserted += stored
    return WriteResult(deleted, inserted, tuple(batch.day for batch in batches))


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


def _slice_name(batch: ReportData) -> tuple[str, str, str]:
    day = batch.day
    return (day.site_url, day.date.isoformat(), SearchType.parse(day.search_type).value)
