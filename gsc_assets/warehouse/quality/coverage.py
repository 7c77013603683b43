"""Is everything there: capped or missing slices, freshness, dates about to leave retention."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.reconciliation import Severity
from gsc_assets.reports.report import Report
from gsc_assets.warehouse.quality.common import (
    MAX_EXAMPLES,
    CheckOutcome,
    Slice,
    as_date,
    dates_metadata,
    latest_syncs_of,
    slice_key,
)
from gsc_assets.warehouse.quality.integrity import row_counts
from gsc_assets.warehouse.quality.reconciliation import slice_sums
from gsc_assets.warehouse.schema import gsc_api_totals, gsc_site_daily, gsc_sync_log, table_for
from gsc_assets.warehouse.sync_log import latest_syncs_stmt


def is_complete(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date], *, require_rows: bool
) -> CheckOutcome:
    """Truncated slices (WARN, with what the totals say was lost); with `require_rows`, slices
    with data in the property or page totals but no rows at all (ERROR)."""
    truncated = latest_syncs_of(conn, report, dates).truncated
    sums = {s.slice: s for s in slice_sums(conn, report, dates) if s.slice in truncated}
    lost_clicks = sum(s.api_clicks - s.clicks for s in sums.values())
    api_clicks = sum(s.api_clicks for s in sums.values())
    missing = _slices_without_rows(conn, report, dates) if require_rows else []
    metadata = {
        **dates_metadata(dates),
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
        return CheckOutcome(False, Severity.ERROR, description, metadata)
    if truncated:
        description = (
            f"{len(truncated)} slices reached the 50,000-row cap; "
            f"{metadata['lost_clicks_share']:.1%} of their clicks are not in rows"
        )
        return CheckOutcome(False, Severity.WARN, description, metadata)
    return CheckOutcome(True, Severity.WARN, "no slice is truncated or missing rows", metadata)


def _slices_without_rows(
    conn: sa.Connection, report: Report, dates: Sequence[dt.date]
) -> list[Slice]:
    site, totals = gsc_site_daily.c, gsc_api_totals.c
    with_data = {
        slice_key(row)
        for row in conn.execute(
            sa.select(site.site_url, site.date, site.search_type).where(
                site.date.in_(dates), site.impressions > 0
            )
        )
    }
    with_data |= {
        slice_key(row)
        for row in conn.execute(
            sa.select(totals.site_url, totals.date, totals.search_type).where(
                totals.report == report.name, totals.date.in_(dates), totals.impressions > 0
            )
        )
    }
    return sorted(with_data - row_counts(conn, table_for(report), dates).keys())


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
    newest = {row.site_url: as_date(row.newest) for row in conn.execute(stmt)}
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
    return CheckOutcome(not stale, Severity.ERROR, description, metadata)


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
    synced = {slice_key(row) for row in conn.execute(stmt)}
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
    return CheckOutcome(not gaps, Severity.WARN, description, metadata)


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
    return [as_date(value) for value in conn.execute(stmt).scalars()]
