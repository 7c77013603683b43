"""How a report's rows reconcile with Google's own totals: derived from the report value alone.

A report is compared with Google's totals of the same aggregation type and filters (dimensions
[date] only), fetched together with its rows for the same DaySlice: Google's own sums are the
only like-for-like reference (docs/search_console_api.md "How the numbers relate").
`reconciliation_for` derives
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
import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from gsc_assets.reports.catalogue import PAGE_TOTALS_REPORT, PROPERTY_TOTALS_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import AggregationType, Dimension


class Severity(StrEnum):
    """How bad a failed comparison is (Dagster's AssetCheckSeverity names)."""

    ERROR = "ERROR"
    WARN = "WARN"


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
    def severity(self) -> Severity:
        """ERROR for a documented (blocking) relation, WARN otherwise."""
        return Severity.ERROR if self.blocking else Severity.WARN


@functools.cache
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
