"""The totals Search Console reports for a day, stored beside the rows they must reconcile with.

A report is compared with Google's totals of the same aggregation type and filters (dimensions
[date] only), fetched together with its rows for the same DaySlice: Google's own sums are the
only like-for-like reference (docs/search_console_api.md "compare like with like"). `reconciliation_for` derives
the comparison from the report value alone:
- byPage reports against PAGE_TOTALS_REPORT, byProperty ones against PROPERTY_TOTALS_REPORT;
- rows grouped by query sum to AT MOST the totals (anonymized queries are in totals, never rows),
  other rows to EQUAL them; a slice that hit the 50,000-row cap is compared at most;
- documented relations (byPage equal, any at-most) are ERRORs and gate publishing; byProperty
  equal (country or device rows vs property totals) is not stated by Google, so it only WARNs;
- hourly reports, searchAppearance reports (one result can carry several appearances) and
  reports without dimensions (they are the totals) have no reconciliation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from gsc_assets.search_console.models import (
    PAGE_TOTALS_REPORT,
    PROPERTY_TOTALS_REPORT,
    AggregationType,
    Dimension,
    Report,
    ReportData,
    SearchType,
)
from gsc_assets.warehouse.schema import gsc_api_totals

Relation = Literal["equal", "at_most"]
EQUAL: Relation = "equal"
AT_MOST: Relation = "at_most"
TOTALS_FOR: dict[AggregationType, Report] = {
    AggregationType.BY_PAGE: PAGE_TOTALS_REPORT,
    AggregationType.BY_PROPERTY: PROPERTY_TOTALS_REPORT,
}


@dataclass(frozen=True)
class Reconciliation:
    """How a report's rows, summed per slice, compare with Google's totals for the slice.

    `totals_report` is fetched with the rows (same aggregation type and filters); `blocking`
    comparisons are ERRORs and part of the write-audit-publish gate, the others WARN only.
    """

    totals_report: Report
    relation: Relation
    blocking: bool

    @property
    def severity(self) -> str:
        """ERROR for a documented (blocking) relation, WARN otherwise."""
        return "ERROR" if self.blocking else "WARN"


def reconciliation_for(report: Report) -> Reconciliation | None:
    """The like-for-like comparison for `report`'s rows, or None when there is none."""
    totals = TOTALS_FOR.get(report.aggregation_type)
    if (
        totals is None
        or report.is_hourly
        or not report.dimensions
        or Dimension.SEARCH_APPEARANCE in report.dimensions
    ):
        return None
    relation = AT_MOST if Dimension.QUERY in report.dimensions else EQUAL
    documented = relation == AT_MOST or report.aggregation_type is AggregationType.BY_PAGE
    return Reconciliation(
        dataclasses.replace(totals, dimension_filters=report.dimension_filters),
        relation,
        blocking=documented,
    )


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
