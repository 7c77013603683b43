"""The property inventory and URL Inspection of the pages that matter, in plain Python.

Inventory: every property the credential sees (with its permission level) and every configured
one, flagged when configured but not visible (the usual cause of a sudden 403) or visible but not
configured; and the sitemaps of each configured, visible property. One snapshot per day.

Inspection: each day, within a share of Google's per-property quota, the pages that matter:
`CORE_SHARE` of the budget goes to the pages with the most clicks in the last `RECENT_DAYS`
(inspected every day, so a page dropping out of the index is seen the next morning); the rest
rotates through the other pages with impressions, the ones not inspected for the longest first.
The quota is shared through the store, so concurrent runs and a restart the same day never
spend more than the budget, and the next day resumes the rotation where it stopped.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa

from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.errors import RateLimitedError
from gsc_assets.search_console.inspection import Inspection, InspectionQuota, inspect_url
from gsc_assets.search_console.inventory import list_sitemaps
from gsc_assets.warehouse.inventory import (
    gsc_url_inspection,
    replace_site_snapshot,
    store_inspections,
)
from gsc_assets.warehouse.schema import gsc_page_daily

RECENT_DAYS = 28
CORE_SHARE = 0.25
WRITE_BATCH = 25  # inspections stored per transaction: a crash loses at most this many answers
NO_DATA_ACCESS = "siteUnverifiedUser"  # Google: this permission level reads no data


@dataclass
class InventoryOutcome:
    """What one inventory snapshot found."""

    visible: list[str] = field(default_factory=list)
    configured_not_visible: list[str] = field(default_factory=list)
    visible_not_configured: list[str] = field(default_factory=list)
    sitemaps: int = 0
    sitemaps_with_errors: int = 0


def sync_inventory(
    client: SearchConsoleClient, engine: sa.Engine, configured: Sequence[str], day: dt.date
) -> InventoryOutcome:
    """Snapshot the sites the credential sees and the sitemaps of the configured ones."""
    levels = {entry.site_url: entry.permission_level for entry in client.list_sites()}
    outcome = InventoryOutcome(visible=sorted(levels))
    outcome.configured_not_visible = [s for s in configured if s not in levels]
    outcome.visible_not_configured = [s for s in sorted(levels) if s not in configured]
    sites = [
        {
            "site_url": site,
            "permission_level": levels.get(site),
            "visible": site in levels,
            "configured": site in configured,
        }
        for site in sorted(set(levels) | set(configured))
    ]
    readable = [s for s in configured if levels.get(s) not in (None, NO_DATA_ACCESS)]
    maps = {site: list_sitemaps(client, site) for site in readable}
    sitemap_rows = [
        {**{k: v for k, v in asdict(m).items() if k != "contents"}, "site_url": site}
        for site, entries in maps.items()
        for m in entries
    ]
    contents = [
        {"site_url": site, "path": m.path, **asdict(content)}
        for site, entries in maps.items()
        for m in entries
        for content in m.contents
    ]
    replace_site_snapshot(engine, day, sites, sitemap_rows, contents)
    outcome.sitemaps = len(sitemap_rows)
    outcome.sitemaps_with_errors = sum(1 for row in sitemap_rows if row["errors"])
    return outcome


def plan_inspections(engine: sa.Engine, site_url: str, day: dt.date, budget: int) -> list[str]:
    """At most `budget` pages of `site_url` to inspect on `day`, most important first."""
    page, inspected = gsc_page_daily.c, gsc_url_inspection.c
    recent = (
        sa.select(page.page, sa.func.sum(page.clicks).label("clicks"))
        .where(
            page.site_url == site_url,
            page.search_type == "web",
            page.date.between(day - dt.timedelta(days=RECENT_DAYS), day - dt.timedelta(days=1)),
        )
        .group_by(page.page)
    )
    last = (
        sa.select(inspected.page, sa.func.max(inspected.inspection_date).label("last"))
        .where(inspected.site_url == site_url)
        .group_by(inspected.page)
    )
    with engine.connect() as conn:
        clicks = {row.page: row.clicks for row in conn.execute(recent)}
        last_seen = {row.page: _date(row.last) for row in conn.execute(last)}
    by_clicks = sorted(clicks, key=lambda p: (-clicks[p], p))
    core = by_clicks[: math.ceil(budget * CORE_SHARE)]
    rotation = sorted(
        (p for p in by_clicks[len(core) :]),
        key=lambda p: (last_seen.get(p, dt.date.min), -clicks[p], p),
    )
    due = [p for p in (*core, *rotation) if last_seen.get(p) != day]
    return due[:budget]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass
class InspectionOutcome:
    """What one day's inspection of one property did."""

    site_url: str
    planned: int = 0
    inspected: int = 0
    budget_spent: bool = False  # the day's share of the quota ran out before the plan did
    throttled: int = 0  # 429s from Google (the shared budget should make this 0)
    verdicts: dict[str, int] = field(default_factory=dict)


def sync_inspections(
    client: SearchConsoleClient,
    quota: InspectionQuota,
    engine: sa.Engine,
    site_url: str,
    pages: Sequence[str],
    day: dt.date,
    *,
    cancel: threading.Event | None = None,
    log: Callable[[str], None] = lambda _message: None,
) -> InspectionOutcome:
    """Inspect `pages` in order while the quota allows; store them in small transactions."""
    outcome = InspectionOutcome(site_url, planned=len(pages))
    pending: list[Inspection] = []
    for url in pages:
        if url in _inspected_on(engine, site_url, day):
            continue  # another run got there first: spend the budget on the next page
        admission = quota.try_acquire(site_url, cancel)
        if admission is None:
            outcome.budget_spent = True
            break
        try:
            result = inspect_url(client, site_url, url)
        except RateLimitedError:
            outcome.throttled += 1  # Google disagrees with our count: stop for today
            break
        finally:
            quota.settle(admission)
        pending.append(result)
        outcome.verdicts[result.verdict or "none"] = (
            outcome.verdicts.get(result.verdict or "none", 0) + 1
        )
        if len(pending) >= WRITE_BATCH:
            outcome.inspected += _store(engine, day, pending)
    outcome.inspected += _store(engine, day, pending)
    log(
        f"{site_url}: inspected {outcome.inspected} of {outcome.planned} planned pages"
        + (" (the day's inspection budget is spent)" if outcome.budget_spent else "")
    )
    return outcome


def _inspected_on(engine: sa.Engine, site_url: str, day: dt.date) -> set[str]:
    c = gsc_url_inspection.c
    stmt = sa.select(c.page).where(c.site_url == site_url, c.inspection_date == day)
    with engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


def _store(engine: sa.Engine, day: dt.date, pending: list[Inspection]) -> int:
    rows = [
        {
            **{k: v for k, v in asdict(item).items() if k not in ("url", "link")},
            "page": item.url,
            "inspection_link": item.link,
        }
        for item in pending
    ]
    pending.clear()
    return store_inspections(engine, day, rows)
