"""The totals Search Console reports for a day, stored beside the rows they must reconcile with.

Which totals a report is compared with, and how, is `reports.reconciliation`; this module stores
the totals fetched with the rows, in the rows' write transaction. A day Google had no data for is
stored as zeros: "fetched, empty" differs from "never fetched".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.schema import gsc_api_totals


def totals_values(report: Report, totals: ReportData, fetched_at: dt.datetime) -> dict[str, Any]:
    """The gsc_api_totals row for `report`'s slice from a batch of its reconciliation's totals.

    The totals response is one row `(date, clicks, impressions, ctr, position)`, or no row when
    Google has no data for the day (stored as zeros, position NULL).
    """
    reconciliation = reconciliation_for(report)
    if reconciliation is None or totals.report != reconciliation.totals_report:
        raise ValueError(
            f"report {report.name!r} is not reconciled with {totals.report.name!r} totals"
        )
    if len(totals.rows) > 1:
        raise ValueError(f"{totals.day.describe()}: totals came back as {len(totals.rows)} rows")
    clicks, impressions, ctr, position = (
        totals.rows[0][1:] if totals.rows else (0.0, 0.0, 0.0, None)
    )
    return {
        "site_url": totals.day.site_url,
        "date": totals.day.date,
        "search_type": SearchType.parse(totals.day.search_type).value,
        "report": report.name,
        "aggregation_type": totals.report.aggregation_type.value,
        "clicks": clicks,
        "impressions": impressions,
        "ctr": ctr,
        "position": position,
        "fetched_at": fetched_at,
    }


def replace_totals(conn: sa.Connection, report: Report, totals: Sequence[ReportData]) -> int:
    """Replace the stored totals of `report` for each batch's slice, on the caller's transaction.

    Returns the number of rows written. Call it inside the write transaction of the rows, so
    rows and totals change together or not at all.
    """
    if not totals:
        return 0
    fetched_at = dt.datetime.now(dt.UTC)
    values = [totals_values(report, batch, fetched_at) for batch in totals]
    table = gsc_api_totals.c
    for value in values:
        conn.execute(
            sa.delete(gsc_api_totals).where(
                table.site_url == value["site_url"],
                table.date == value["date"],
                table.search_type == value["search_type"],
                table.report == value["report"],
            )
        )
    conn.execute(sa.insert(gsc_api_totals), values)
    return len(values)
