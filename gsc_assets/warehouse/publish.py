"""Publish one date of a report: its rows, Google's totals and the audit, in one transaction.

Write-audit-publish: the rows of every slice of the date replace the old ones, the totals fetched
with them are stored beside them, and the audit (`quality.audit_written_date`) runs on the same
transaction; if it fails, everything rolls back and readers keep the previous version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import ReportData
from gsc_assets.warehouse.quality import audit_written_date
from gsc_assets.warehouse.totals import replace_totals
from gsc_assets.warehouse.writes import WriteResult, replace_partition


def publish_date(
    engine: sa.Engine,
    report: Report,
    date: dt.date,
    batches: Sequence[ReportData],
    *,
    totals: Sequence[ReportData] = (),
    run_id: str | None = None,
) -> WriteResult:
    """Replace `date` of `report` with `batches` (and store `totals`), audited, atomically.

    Raises AuditFailedError (rolled back) when a like-for-like check fails, and
    WarehouseUnavailableError when the database connection does not come back.
    """
    if any(batch.day.date != date for batch in (*batches, *totals)):
        raise ValueError(f"publish_date({date.isoformat()}) got batches of other dates")

    def audit(conn: sa.Connection) -> None:
        replace_totals(conn, report, totals)
        audit_written_date(conn, report, date)

    return replace_partition(engine, report, batches, run_id=run_id, audit=audit)
