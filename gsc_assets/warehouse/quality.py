"""The SQL behind the data-quality checks: each function returns a CheckOutcome, never raises.

No Dagster types here: `gsc_assets/defs/checks.py` turns outcomes into asset-check results and
`audit_written_date` runs the like-for-like ones inside a partition's write transaction
(write-audit-publish: a failing audit rolls the new version back, the previous one stays).

What compares with what (docs/search_console_api.md "Data limits and semantics") follows each report's value
(`totals.reconciliation_for`): rows summed per slice == the totals of the report's aggregation
type (exact, up to float rounding), or <= them for query-grouped rows (anonymized queries are in
totals, never rows) and capped slices (the 50,000-row cap drops the tail); the gap is reported as
the hidden share. byPage rows are never compared with byProperty totals or the other way round.
Every function takes the dates to look at and works on a Connection, so it can run on the write
transaction (seeing uncommitted rows) or on its own.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.reports.reconciliation import AT_MOST, EQUAL, Reconciliation, reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.warehouse.schema import (
    gsc_api_totals,
    gsc_page_daily,
    gsc_site_daily,
    gsc_sync_log,
    table_for,
)
from gsc_assets.warehouse.sync_log import latest_syncs_stmt
from gsc_assets.warehouse.urls import variant_groups

ERROR, WARN = "ERROR", "WARN"
RELATIVE_TOLERANCE = 1e-9  # sums of doubles in another order; real differences are whole clicks
ABSOLUTE_TOLERANCE = 1e-6
MAX_EXAMPLES = 5

Slice = tuple[str, dt.date, str]  # (site_url, date, search_type)


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict: passed, how bad a failure is, and the numbers it compared."""

    passed: bool
    severity: str
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def _at_most(a: float, b: float) -> bool:
    return a <= b or _close(a, b)


def _slice_key(row: Any) -> Slice:
    date = row.date if isinstance(row.date, dt.date) else dt.date.fromisoformat(str(row.date))
    return (row.site_url, date, row.search_type)


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
        .where(table.c.date.in_(dates))
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
        SliceSums(_slice_key(r), r.rows, r.clicks, r.impressions, r.api_clicks, r.api_impressions)
        for r in conn.execute(stmt)
    ]


def _dates_metadata(dates: Sequence[dt.date]) -> dict[str, Any]:
    return {"dates": [d.isoformat() for d in sorted(dates)]}


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
    non_final = non_final_slices(conn, report, dates)
    compared = [s for s in fetched if s.slice not in non_final]
    truncated = truncated_slices(conn, report, dates)
    at_most = [s for s in compared if reconciliation.relation == AT_MOST or s.slice in truncated]
    at_most_slices = {s.slice for s in at_most}
    bad = [s for s in compared if not _reconciles(s, at_most=s.slice in at_most_slices)]
    metadata: dict[str, Any] = {
        **_dates_metadata(dates),
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
    compare = _at_most if at_most else _close
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


def _latest_syncs(conn: sa.Connection, report: Report, dates: Sequence[dt.date]) -> list[Any]:
    log = gsc_sync_log.c
    return list(conn.execute(latest_syncs_stmt([log.report == report.name, log.date.in_(dates)])))


def non_final_slices(conn: sa.Connection, report: Report, dates: Sequence[dt.date]) -> set[Slice]:
    """Slices whose latest sync holds data Search Console still reported as incomplete."""
    return {_slice_key(row) for row in _latest_syncs(conn, report, dates) if not row.is_final}


def truncated_slices(conn: sa.Connection, report: Report, dates: Sequence[dt.date]) -> set[Slice]:
    """Slices whose latest sync reached the 50,000-row cap."""
    return {_slice_key(row) for row in _latest_syncs(conn, report, dates) if row.truncated}


def _row_counts(conn: sa.Connection, table: sa.Table, dates: Sequence[dt.date]) -> dict[Slice, int]:
    return {key: stored.rows for key, stored in _stored_sums(conn, table, dates).items()}


@dataclass(frozen=True)
class StoredSums:
    """A slice's stored row count and metric sums (position over non-null values)."""

    rows: int
    clicks: float
    impressions: float
    ctr: float
    position: float


EMPTY_SLICE = StoredSums(0, 0.0, 0.0, 0.0, 0.0)
SUMMED_METRICS = ("clicks", "impressions", "ctr", "position")


def _stored_sums(
    conn: sa.Connection, table: sa.Table, dates: Sequence[dt.date]
) -> dict[Slice, StoredSums]:
    c = table.c
    stmt = (
        sa.select(
            c.site_url,
            c.date,
            c.search_type,
            sa.func.count().label("n"),
            *(sa.func.coalesce(sa.func.sum(c[m]), 0.0).label(m) for m in SUMMED_METRICS),
        )
        .where(c.date.in_(dates))
        .group_by(c.site_url, c.date, c.search_type)
    )
    return {
        _slice_key(row): StoredSums(row.n, row.clicks, row.impressions, row.ctr, row.position)
        for row in conn.execute(stmt)
    }


def _sync_differences(sync: Any, stored: StoredSums) -> dict[str, tuple[float, float]]:
    """What differs between a slice's latest sync and its stored rows: {what: (synced, stored)}."""
    if sync is None:
        return {"rows": (0, stored.rows)}
    differences: dict[str, tuple[float, float]] = {}
    if not sync.rows_fetched == sync.rows_stored == stored.rows:
        differences["rows"] = (sync.rows_fetched, stored.rows)
    for metric in SUMMED_METRICS:
        synced = getattr(sync, f"sum_{metric}", None)
        if synced is not None and not _close(synced, getattr(stored, metric)):
            differences[f"sum_{metric}"] = (synced, getattr(stored, metric))
    return differences


def rows_match_sync_log(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date]
) -> CheckOutcome:
    """ERROR when a slice's stored rows differ from what its latest sync fetched and stored.

    Compared per (site, date, search type): the row count, and the sums of clicks,
    impressions, ctr and position the sync log recorded when the rows were fetched. Any change
    to stored rows or metrics after a sync (an UPDATE, a deleted or added row) fails it, naming
    the slice and both numbers. Slices logged before the sums were recorded compare counts only.
    """
    stored_by_slice = _stored_sums(conn, table_for(report), dates)
    logged = {_slice_key(row): row for row in _latest_syncs(conn, report, dates)}
    problems = []
    for key in sorted(stored_by_slice.keys() | logged.keys()):
        sync, stored = logged.get(key), stored_by_slice.get(key, EMPTY_SLICE)
        differences = _sync_differences(sync, stored)
        if differences:
            problems.append(
                {
                    "site": key[0],
                    "date": key[1].isoformat(),
                    "search_type": key[2],
                    "rows_in_table": stored.rows,
                    "rows_fetched": None if sync is None else sync.rows_fetched,
                    "rows_stored_by_sync": None if sync is None else sync.rows_stored,
                    **{
                        f"{what}_{side}": value
                        for what, pair in differences.items()
                        if what != "rows"
                        for side, value in zip(("synced", "stored"), pair, strict=True)
                    },
                }
            )
    metadata = {
        **_dates_metadata(dates),
        "slices_checked": len(stored_by_slice.keys() | logged.keys()),
        "rows_in_table": sum(s.rows for s in stored_by_slice.values()),
        "rows_fetched": sum(row.rows_fetched for row in logged.values()),
        "mismatched_slices": len(problems),
        "mismatches": problems[:MAX_EXAMPLES],
    }
    if problems:
        first = problems[0]
        changed = ", ".join(
            f"{k.removesuffix('_synced')} synced {first[k]} vs stored "
            f"{first[k.removesuffix('_synced') + '_stored']}"
            for k in first
            if k.endswith("_synced")
        ) or f"rows fetched {first['rows_fetched']} vs in table {first['rows_in_table']}"
        description = (
            f"{len(problems)} slices of {table_for(report).name} differ from what their latest "
            f"sync fetched; first: {first['site']} {first['date']} {first['search_type']}: "
            f"{changed}"
        )
    else:
        description = (
            f"rows and metric sums stored equal what the latest sync fetched in all "
            f"{metadata['slices_checked']} slices"
        )
    return CheckOutcome(not problems, ERROR, description, metadata)


def has_no_duplicate_keys(
    conn: sa.Connection, table: sa.Table, dates: Sequence[dt.date] | None = None
) -> CheckOutcome:
    """ERROR when two rows share a natural key (the table's primary-key columns).

    The schema's primary keys forbid this; the check guards warehouses whose tables were
    created or migrated without them, and loads that bypass `replace_partition`.
    """
    key = [column for column in table.columns if column.primary_key]
    groups = sa.select(*key, sa.func.count().label("copies")).group_by(*key)
    if dates is not None:
        groups = groups.where(table.c.date.in_(dates))
    duplicated = groups.having(sa.func.count() > 1).subquery()
    count = conn.execute(sa.select(sa.func.count()).select_from(duplicated)).scalar_one()
    examples = conn.execute(sa.select(duplicated).limit(MAX_EXAMPLES)).mappings().all()
    metadata = {
        **(_dates_metadata(dates) if dates is not None else {}),
        "table": table.name,
        "duplicate_keys": int(count),
        "examples": [{k: str(v) for k, v in row.items()} for row in examples],
    }
    description = (
        f"{count} natural keys of {table.name} appear more than once"
        if count
        else f"every natural key of {table.name} appears once"
    )
    return CheckOutcome(not count, ERROR, description, metadata)


def has_no_url_variants(conn: sa.Connection, dates: Sequence[dt.date]) -> CheckOutcome:
    """WARN when one page appears under several URLs (slash, case, tracking parameters, scheme).

    Search Console counts each URL separately, so variants split one page's numbers.
    """
    page = gsc_page_daily.c
    stmt = (
        sa.select(page.site_url, page.search_type, page.page).where(page.date.in_(dates)).distinct()
    )
    pages_by_scope: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in conn.execute(stmt):
        pages_by_scope[(row.site_url, row.search_type)].append(row.page)
    groups = [
        (scope, group)
        for scope, pages in sorted(pages_by_scope.items())
        for group in variant_groups(pages)
    ]
    kinds: dict[str, int] = defaultdict(int)
    for _, group in groups:
        for kind in group.kinds:
            kinds[kind] += 1
    metadata = {
        **_dates_metadata(dates),
        "variant_groups": len(groups),
        "urls_involved": sum(len(group.urls) for _, group in groups),
        "groups_by_kind": dict(sorted(kinds.items())),
        "examples": [
            {"site": scope[0], "search_type": scope[1], "urls": list(group.urls)}
            for scope, group in groups[:MAX_EXAMPLES]
        ],
    }
    description = (
        f"{len(groups)} pages appear under several URL variants"
        if groups
        else "no page appears under several URL variants"
    )
    return CheckOutcome(not groups, WARN, description, metadata)


def is_complete(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date], *, require_rows: bool
) -> CheckOutcome:
    """Truncated slices (WARN, with what the totals say was lost); with `require_rows`, slices
    with data in the property or page totals but no rows at all (ERROR)."""
    truncated = truncated_slices(conn, report, dates)
    sums = {s.slice: s for s in slice_sums(conn, report, dates) if s.slice in truncated}
    lost_clicks = sum(s.api_clicks - s.clicks for s in sums.values())
    api_clicks = sum(s.api_clicks for s in sums.values())
    missing = _slices_without_rows(conn, report, dates) if require_rows else []
    metadata = {
        **_dates_metadata(dates),
        "truncated_slices": len(truncated),
        "truncated": [
            {"site": s[0], "date": s[1].isoformat(), "search_type": s[2]}
            for s in sorted(truncated)[:MAX_EXAMPLES]
        ],
        "lost_clicks": lost_clicks,
        "lost_impressions": sum(s.api_impressions - s.impressions for s in sums.values()),
        "lost_clicks_share": round(lost_clicks / api_clicks, 6) if api_clicks > 0 else 0.0,
        "slices_missing_rows": len(missing),
        "missing": [
            {"site": s[0], "date": s[1].isoformat(), "search_type": s[2]}
            for s in missing[:MAX_EXAMPLES]
        ],
    }
    if missing:
        description = f"{len(missing)} slices have data in Search Console's totals but no rows"
        return CheckOutcome(False, ERROR, description, metadata)
    if truncated:
        description = (
            f"{len(truncated)} slices reached the 50,000-row cap; "
            f"{metadata['lost_clicks_share']:.1%} of their clicks are not in rows"
        )
        return CheckOutcome(False, WARN, description, metadata)
    return CheckOutcome(True, WARN, "no slice is truncated or missing rows", metadata)


def _slices_without_rows(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date]
) -> list[Slice]:
    site, totals = gsc_site_daily.c, gsc_api_totals.c
    with_data = {
        _slice_key(row)
        for row in conn.execute(
            sa.select(site.site_url, site.date, site.search_type).where(
                site.date.in_(dates), site.impressions > 0
            )
        )
    }
    with_data |= {
        _slice_key(row)
        for row in conn.execute(
            sa.select(totals.site_url, totals.date, totals.search_type).where(
                totals.report == report.name, totals.date.in_(dates), totals.impressions > 0
            )
        )
    }
    return sorted(with_data - _row_counts(conn, table_for(report), dates).keys())


def is_fresh(
    conn: sa.Connection, sites: Sequence[str], *, today: dt.date, max_age_days: int
) -> CheckOutcome:
    """ERROR when a site's newest final page partition is older than `max_age_days`."""
    log = gsc_sync_log.c
    latest = latest_syncs_stmt([log.report == PAGE_REPORT.name]).subquery()
    stmt = (
        sa.select(latest.c.site_url, sa.func.max(latest.c.date).label("newest"))
        .where(latest.c.is_final.is_(True))
        .group_by(latest.c.site_url)
    )
    newest = {row.site_url: _as_date(row.newest) for row in conn.execute(stmt)}
    ages = {site: (today - newest[site]).days if site in newest else None for site in sites}
    stale = [site for site, age in ages.items() if age is None or age > max_age_days]
    metadata = {
        "today": today.isoformat(),
        "max_age_days": max_age_days,
        "newest_final_date": {s: newest[s].isoformat() if s in newest else None for s in sites},
        "age_days": ages,
        "stale_sites": stale,
    }
    description = (
        f"{len(stale)} sites have no final page data newer than {max_age_days} days"
        if stale
        else f"every site has final page data at most {max_age_days} days old"
    )
    return CheckOutcome(not stale, ERROR, description, metadata)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def retention_gaps(
    conn: sa.Connection,
    sites: Sequence[str],
    search_types: Sequence[str],
    *,
    first: dt.date,
    last: dt.date,
) -> CheckOutcome:
    """WARN for dates in [first, last] — about to leave Search Console's 16-month window — that
    were never synced for the page report (per site and search type)."""
    log = gsc_sync_log.c
    stmt = (
        sa.select(log.site_url, log.date, log.search_type)
        .where(log.report == PAGE_REPORT.name, log.date.between(first, last))
        .distinct()
    )
    synced = {_slice_key(row) for row in conn.execute(stmt)}
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    gaps = [
        (site, day, search_type)
        for site in sites
        for search_type in search_types
        for day in days
        if (site, day, search_type) not in synced
    ]
    gap_dates: dict[str, list[str]] = defaultdict(list)
    for site, day, search_type in gaps:
        gap_dates[f"{site} {search_type}"].append(day.isoformat())
    metadata = {
        "window_first": first.isoformat(),
        "window_last": last.isoformat(),
        "unsynced_slices": len(gaps),
        "unsynced_dates": dict(gap_dates),
    }
    description = (
        f"{len(gaps)} site/date/type slices leave Search Console's retention window by "
        f"{last.isoformat()} and were never synced"
        if gaps
        else f"every date leaving the retention window by {last.isoformat()} was synced"
    )
    return CheckOutcome(not gaps, WARN, description, metadata)


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


def latest_run_dates(conn: sa.Connection, report: Report) -> list[dt.date]:
    """The dates written by the run that last synced `report` (empty when none did)."""
    log = gsc_sync_log.c
    newest = sa.select(sa.func.max(log.id)).where(log.report == report.name).scalar_subquery()
    latest_run = sa.select(log.run_id).where(log.id == newest).scalar_subquery()
    stmt = (
        sa.select(log.date)
        .where(log.report == report.name, log.run_id == latest_run)
        .distinct()
        .order_by(log.date)
    )
    return [_as_date(value) for value in conn.execute(stmt).scalars()]
