"""Stored rows against what their latest sync fetched (tamper evidence), unique keys, URL
variants."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import Severity
from gsc_assets.reports.report import Report
from gsc_assets.warehouse.quality.common import (
    MAX_EXAMPLES,
    CheckOutcome,
    Slice,
    dates_metadata,
    latest_syncs_of,
    nearly_equal,
    rows_on,
    slice_key,
)
from gsc_assets.warehouse.schema import gsc_page_daily, table_for
from gsc_assets.warehouse.urls import variant_groups


def row_counts(conn: sa.Connection, table: sa.Table, dates: Sequence[dt.date]) -> dict[Slice, int]:
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
        .where(rows_on(conn, table, dates))
        .group_by(c.site_url, c.date, c.search_type)
    )
    return {
        slice_key(row): StoredSums(row.n, row.clicks, row.impressions, row.ctr, row.position)
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
        if synced is not None and not nearly_equal(synced, getattr(stored, metric)):
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
    logged = latest_syncs_of(conn, report, dates).rows
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
        **dates_metadata(dates),
        "slices_checked": len(stored_by_slice.keys() | logged.keys()),
        "rows_in_table": sum(s.rows for s in stored_by_slice.values()),
        "rows_fetched": sum(row.rows_fetched for row in logged.values()),
        "mismatched_slices": len(problems),
        "mismatches": problems[:MAX_EXAMPLES],
    }
    if problems:
        first = problems[0]
        changed = (
            ", ".join(
                f"{k.removesuffix('_synced')} synced {first[k]} vs stored "
                f"{first[k.removesuffix('_synced') + '_stored']}"
                for k in first
                if k.endswith("_synced")
            )
            or f"rows fetched {first['rows_fetched']} vs in table {first['rows_in_table']}"
        )
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
    return CheckOutcome(not problems, Severity.ERROR, description, metadata)


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
        groups = groups.where(rows_on(conn, table, dates))
    duplicated = groups.having(sa.func.count() > 1).subquery()
    count = conn.execute(sa.select(sa.func.count()).select_from(duplicated)).scalar_one()
    # The grouping is the cost (every row of the dates): run it a second time only to show some.
    examples = (
        conn.execute(sa.select(duplicated).limit(MAX_EXAMPLES)).mappings().all() if count else []
    )
    metadata = {
        **(dates_metadata(dates) if dates is not None else {}),
        "table": table.name,
        "duplicate_keys": int(count),
        "examples": [{k: str(v) for k, v in row.items()} for row in examples],
    }
    description = (
        f"{count} natural keys of {table.name} appear more than once"
        if count
        else f"every natural key of {table.name} appears once"
    )
    return CheckOutcome(not count, Severity.ERROR, description, metadata)


def has_no_url_variants(conn: sa.Connection, dates: Sequence[dt.date]) -> CheckOutcome:
    """WARN when one page appears under several URLs (slash, case, tracking parameters, scheme).

    Search Console counts each URL separately, so variants split one page's numbers.
    """
    page = gsc_page_daily.c
    stmt = (
        sa.select(page.site_url, page.search_type, page.page)
        .where(rows_on(conn, gsc_page_daily, dates))
        .distinct()
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
        **dates_metadata(dates),
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
    return CheckOutcome(not groups, Severity.WARN, description, metadata)
