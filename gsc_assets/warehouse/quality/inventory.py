"""Checks on the inventory and URL Inspection tables (the latest snapshot / inspections)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import Severity
from gsc_assets.warehouse.inventory import gsc_sitemaps, gsc_sites, gsc_url_inspection
from gsc_assets.warehouse.quality.common import MAX_EXAMPLES, CheckOutcome, as_date


def _latest_snapshot(conn: sa.Connection, table: sa.Table) -> dt.date | None:
    value = conn.execute(sa.select(sa.func.max(table.c.snapshot_date))).scalar()
    return None if value is None else as_date(value)


def configured_properties_visible(conn: sa.Connection) -> CheckOutcome:
    """ERROR when a configured property is not among those the credential can see."""
    day = _latest_snapshot(conn, gsc_sites)
    c = gsc_sites.c
    missing = (
        []
        if day is None
        else list(
            conn.execute(
                sa.select(c.site_url).where(c.snapshot_date == day, c.configured, ~c.visible)
            ).scalars()
        )
    )
    metadata: dict[str, Any] = {
        "snapshot_date": day.isoformat() if day else None,
        "configured_not_visible": missing,
    }
    description = (
        f"{len(missing)} configured properties are not visible to the credential "
        f"({', '.join(missing[:MAX_EXAMPLES])}): add it as a user of each in Search Console, "
        "or fix GSC_SITES"
        if missing
        else "every configured property is visible to the credential"
    )
    return CheckOutcome(not missing, Severity.ERROR, description, metadata)


def sitemaps_have_no_errors(conn: sa.Connection) -> CheckOutcome:
    """ERROR when a sitemap of the latest snapshot reports errors."""
    day = _latest_snapshot(conn, gsc_sitemaps)
    c = gsc_sitemaps.c
    rows = (
        []
        if day is None
        else conn.execute(
            sa.select(c.site_url, c.path, c.errors, c.warnings)
            .where(c.snapshot_date == day, c.errors > 0)
            .order_by(c.site_url, c.path)
        ).all()
    )
    metadata: dict[str, Any] = {
        "snapshot_date": day.isoformat() if day else None,
        "sitemaps_with_errors": len(rows),
        "examples": [
            {"site": r.site_url, "path": r.path, "errors": r.errors, "warnings": r.warnings}
            for r in rows[:MAX_EXAMPLES]
        ],
    }
    description = (
        f"{len(rows)} sitemaps report errors; first: {rows[0].path} ({rows[0].errors} errors)"
        if rows
        else "no sitemap reports errors"
    )
    return CheckOutcome(not rows, Severity.ERROR, description, metadata)


def indexing_unchanged(conn: sa.Connection) -> CheckOutcome:
    """WARN for pages whose verdict turned from PASS to anything else between their last two
    inspections, or whose latest Google canonical differs from the user's canonical."""
    c = gsc_url_inspection.c
    ranked = sa.select(
        c.site_url,
        c.page,
        c.inspection_date,
        c.verdict,
        c.google_canonical,
        c.user_canonical,
        sa.func.row_number()
        .over(partition_by=(c.site_url, c.page), order_by=c.inspection_date.desc())
        .label("age"),
    ).subquery()
    rows = conn.execute(sa.select(ranked).where(ranked.c.age <= 2)).all()
    latest = {(r.site_url, r.page): r for r in rows if r.age == 1}
    previous = {(r.site_url, r.page): r for r in rows if r.age == 2}
    lost = [
        {
            "site": k[0],
            "page": k[1],
            "was": "PASS",
            "now": r.verdict,
            "date": str(r.inspection_date),
        }
        for k, r in sorted(latest.items())
        if k in previous and previous[k].verdict == "PASS" and r.verdict != "PASS"
    ]
    canonical = [
        {"site": k[0], "page": k[1], "google": r.google_canonical, "user": r.user_canonical}
        for k, r in sorted(latest.items())
        if r.google_canonical and r.user_canonical and r.google_canonical != r.user_canonical
    ]
    metadata: dict[str, Any] = {
        "pages_inspected": len(latest),
        "verdict_no_longer_pass": len(lost),
        "canonical_mismatches": len(canonical),
        "lost_examples": lost[:MAX_EXAMPLES],
        "canonical_examples": canonical[:MAX_EXAMPLES],
    }
    problems = len(lost) + len(canonical)
    description = (
        f"{len(lost)} pages are no longer PASS and {len(canonical)} have a Google canonical "
        "other than theirs"
        if problems
        else f"all {len(latest)} inspected pages keep their verdict and canonical"
    )
    return CheckOutcome(not problems, Severity.WARN, description, metadata)
