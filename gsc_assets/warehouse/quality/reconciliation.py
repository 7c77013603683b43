"""Rows against Google's own totals, like for like, and the write-audit-publish gate.

What compares with what follows each report's value (`reports.reconciliation`): rows summed per
slice == the totals of the report's aggregation type (exact, up to float rounding), or <= them
for query-grouped rows (anonymized queries are in totals, never rows) and capped slices (the
50,000-row cap drops the tail); the gap is reported as the hidden share. byPage rows are never
compared with byProperty totals or the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.reports.reconciliation import AT_MOST, EQUAL, Reconciliation, reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.warehouse.quality.common import (
    MAX_EXAMPLES,
    CheckOutcome,
    Slice,
    at_most_or_close,
    dates_metadata,
    latest_syncs_of,
    nearly_equal,
    rows_on,
    slice_key,
)
from gsc_assets.warehouse.quality.integrity import rows_match_sync_log
from gsc_assets.warehouse.schema import gsc_api_totals, table_for


class AuditFailedError(Exception):
    """A partition's like-for-like audit failed; its write transaction is rolled back.

    `outcomes` maps each failed check's name to its outcome (with the numbers compared).
    """

    def __init__(self, report: Report, date: dt.date, outcomes: Mapping[str, CheckOutcome]) -> None:
        self.report, self.date, self.outcomes = report, date, dict(outcomes)
        reasons = "; ".join(f"{name}: {o.description}" for name, o in self.outcomes.items())
        super().__init__(
            f"{report.table} {date.isoformat()} not published (previous version kept): {reasons}"
        )


@dataclass(frozen=True)
class SliceSums:
    """A slice's stored rows summed, beside the totals Google reported for it."""

    slice: Slice
    rows: int
    clicks: float
    impressions: float
    api_clicks: float
    api_impressions: float

    def describe(self) -> dict[str, Any]:
        """The numbers as metadata-friendly values."""
        site, date, search_type = self.slice
        return {
            "site": site,
            "date": date.isoformat(),
            "search_type": search_type,
            "rows": self.rows,
            "stored_clicks": self.clicks,
            "api_clicks": self.api_clicks,
            "stored_impressions": self.impressions,
            "api_impressions": self.api_impressions,
        }


def slice_sums(conn: sa.Connection, report: Report, dates: Sequence[dt.date]) -> list[SliceSums]:
    """Per slice with stored API totals for `report`: its row count and sums beside the totals."""
    table, totals = table_for(report), gsc_api_totals.c
    sums = (
        sa.select(
            table.c.site_url,
            table.c.date,
            table.c.search_type,
            sa.func.count().label("rows"),
            sa.func.sum(table.c.clicks).label("clicks"),
            sa.func.sum(table.c.impressions).label("impressions"),
        )
        .where(rows_on(conn, table, dates))
        .group_by(table.c.site_url, table.c.date, table.c.search_type)
        .subquery()
    )
    stmt = (
        sa.select(
            totals.site_url,
            totals.date,
            totals.search_type,
            sa.func.coalesce(sums.c.rows, 0).label("rows"),
            sa.func.coalesce(sums.c.clicks, 0.0).label("clicks"),
            sa.func.coalesce(sums.c.impressions, 0.0).label("impressions"),
            totals.clicks.label("api_clicks"),
            totals.impressions.label("api_impressions"),
        )
        .select_from(
            gsc_api_totals.outerjoin(
                sums,
                sa.and_(
                    sums.c.site_url == totals.site_url,
                    sums.c.date == totals.date,
                    sums.c.search_type == totals.search_type,
                ),
            )
        )
        .where(totals.report == report.name, totals.date.in_(dates))
        .order_by(totals.site_url, totals.date, totals.search_type)
    )
    return [
        SliceSums(slice_key(r), r.rows, r.clicks, r.impressions, r.api_clicks, r.api_impressions)
        for r in conn.execute(stmt)
    ]


RECONCILIATION_CHECK_NAMES = {  # the core reports' checks keep the names the README documents
    PAGE_REPORT.name: "pages_sum_to_page_totals",
    PAGE_QUERY_REPORT.name: "queries_within_page_totals",
}

GENERIC_RECONCILIATION_CHECK = "rows_reconcile_with_totals"


def reconciliation_check_name(report: Report) -> str:
    """The name of `report`'s reconciliation check (and of its audit outcome)."""
    return RECONCILIATION_CHECK_NAMES.get(report.name, GENERIC_RECONCILIATION_CHECK)


def describe_reconciliation(report: Report, reconciliation: Reconciliation) -> str:
    """Words for what `report`'s rows are compared with."""
    totals = reconciliation.totals_report
    filters = " with the report's filters" if totals.dimension_filters else ""
    relation = "equal" if reconciliation.relation == EQUAL else "are at most"
    return (
        f"{report.name} rows summed per site/date/search type {relation} Google's "
        f"{totals.aggregation_type.value} totals for the day (dimensions [date]{filters})"
    )


def rows_reconcile_with_totals(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date]
) -> CheckOutcome:
    """Compare each slice's summed rows with the stored totals of `reconciliation_for(report)`.

    "equal" slices must match up to float rounding; "at_most" ones (query-grouped reports, and
    any slice that hit the 50,000-row cap) may fall short. The hidden share, 1 - summed clicks /
    totals clicks, is reported for at-most slices: anonymized queries plus the capped tail.
    Non-final slices (fetched while Search Console still reported the date incomplete) are counted
    but not judged: the rows and the totals are two reads of numbers Google was still changing, so
    a difference proves nothing; the partition is re-fetched, and judged, once final.
    Raises ValueError for a report without a reconciliation.
    """
    reconciliation = reconciliation_for(report)
    if reconciliation is None:
        raise ValueError(f"report {report.name!r} has no like-for-like totals to reconcile with")
    fetched = slice_sums(conn, report, dates)
    latest = latest_syncs_of(conn, report, dates)
    non_final = latest.non_final
    compared = [s for s in fetched if s.slice not in non_final]
    truncated = latest.truncated
    at_most = [s for s in compared if reconciliation.relation == AT_MOST or s.slice in truncated]
    at_most_slices = {s.slice for s in at_most}
    bad = [s for s in compared if not _reconciles(s, at_most=s.slice in at_most_slices)]
    metadata: dict[str, Any] = {
        **dates_metadata(dates),
        "totals_report": reconciliation.totals_report.name,
        "aggregation_type": reconciliation.totals_report.aggregation_type.value,
        "relation": reconciliation.relation,
        "slices_compared": len(compared),
        "non_final_slices_not_compared": len(fetched) - len(compared),
        "slices_compared_at_most": len(at_most),
        "truncated_slices": sum(1 for s in compared if s.slice in truncated),
        "mismatched_slices": len(bad),
        "stored_clicks": sum(s.clicks for s in compared),
        "api_clicks": sum(s.api_clicks for s in compared),
        "stored_impressions": sum(s.impressions for s in compared),
        "api_impressions": sum(s.api_impressions for s in compared),
        "mismatches": [
            {**s.describe(), "compared": AT_MOST if s.slice in at_most_slices else EQUAL}
            for s in bad[:MAX_EXAMPLES]
        ],
    }
    if at_most:
        metadata["hidden_clicks_share"] = _hidden_share(at_most)
        metadata["hidden_clicks_share_by_site"] = _hidden_share_by_site(at_most)
        if reconciliation.relation == AT_MOST:
            complete = [s for s in compared if s.slice not in truncated]
            metadata["anonymized_clicks_share"] = _hidden_share(complete)
    what = describe_reconciliation(report, reconciliation)
    if bad:
        description = f"{len(bad)} of {len(compared)} slices fail: {what}"
    else:
        description = f"all {len(compared)} slices pass: {what}"
        if at_most:
            description += f"; {metadata['hidden_clicks_share']:.1%} of clicks hidden"
    return CheckOutcome(not bad, reconciliation.severity, description, metadata)


def _reconciles(s: SliceSums, *, at_most: bool) -> bool:
    compare = at_most_or_close if at_most else nearly_equal
    return compare(s.clicks, s.api_clicks) and compare(s.impressions, s.api_impressions)


def pages_sum_to_page_totals(conn: sa.Connection, dates: Sequence[dt.date]) -> CheckOutcome:
    """ERROR when a slice's page rows do not sum to Google's byPage totals for that day."""
    return rows_reconcile_with_totals(conn, PAGE_REPORT, dates)


def queries_within_page_totals(conn: sa.Connection, dates: Sequence[dt.date]) -> CheckOutcome:
    """ERROR when page x query rows sum to more than the byPage totals (they can only be less)."""
    return rows_reconcile_with_totals(conn, PAGE_QUERY_REPORT, dates)


def _hidden_share(sums: Iterable[SliceSums]) -> float:
    sums = list(sums)
    api_clicks = sum(s.api_clicks for s in sums)
    if api_clicks <= 0:
        return 0.0
    return round(1.0 - sum(s.clicks for s in sums) / api_clicks, 6)


def _hidden_share_by_site(sums: Sequence[SliceSums]) -> dict[str, float]:
    by_site: dict[str, list[SliceSums]] = defaultdict(list)
    for s in sums:
        by_site[s.slice[0]].append(s)
    return {site: _hidden_share(site_sums) for site, site_sums in sorted(by_site.items())}


def audit_written_date(conn: sa.Connection, report: Report, date: dt.date) -> None:
    """The write-audit-publish gate: raise AuditFailedError when a like-for-like check fails.

    Runs on the write transaction after the rows and totals of `date` are written. Only blocking
    reconciliations gate publishing; WARN ones are reported by the asset checks alone.
    """
    outcomes = {"rows_match_sync_log": rows_match_sync_log(conn, report, [date])}
    reconciliation = reconciliation_for(report)
    if reconciliation is not None and reconciliation.blocking:
        outcomes[reconciliation_check_name(report)] = rows_reconcile_with_totals(
            conn, report, [date]
        )
    failed = {name: outcome for name, outcome in outcomes.items() if not outcome.passed}
    if failed:
        raise AuditFailedError(report, date, failed)
