"""All-time totals per page (`gsc_page_lifetime`), derived from `gsc_page_daily` in SQL.

Definitions (docs/search_console_api.md: ctr = clicks / impressions; position is
impression-weighted):
- clicks, impressions: sums over every day;
- ctr: sum(clicks) / sum(impressions), NULL when there were no impressions;
- position: sum(position * impressions) / sum(impressions) over rows that have a position,
  NULL when none do (discover, googleNews);
- first_date, last_date, days_with_impressions: over days with impressions > 0.

`replace_partition` marks the pages of every slice it touches in `gsc_lifetime_dirty`;
`refresh_lifetime` recomputes only those pages, so its cost follows what changed, not history.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gsc_assets.warehouse.engine import begin_write, lock_table_exclusive
from gsc_assets.warehouse.schema import gsc_lifetime_dirty, gsc_page_daily, gsc_page_lifetime

LIFETIME_KEY = ("site_url", "search_type", "page")
LIFETIME_VALUES = (
    "clicks",
    "impressions",
    "ctr",
    "position",
    "first_date",
    "last_date",
    "days_with_impressions",
)


def lifetime_aggregate_select(*, only_dirty: bool) -> sa.Select:
    """The lifetime columns (without updated_at) per page, from gsc_page_daily.

    With `only_dirty`, restricted by a join to gsc_lifetime_dirty.
    """
    daily = gsc_page_daily.c
    total_impressions = sa.func.sum(daily.impressions)
    positioned_impressions = sa.func.sum(sa.case((daily.position.is_not(None), daily.impressions)))
    day_with_impressions = sa.case((daily.impressions > 0, daily.date))
    stmt = sa.select(
        daily.site_url,
        daily.search_type,
        daily.page,
        sa.func.sum(daily.clicks).label("clicks"),
        total_impressions.label("impressions"),
        sa.case((total_impressions > 0, sa.func.sum(daily.clicks) / total_impressions)).label(
            "ctr"
        ),
        sa.case(
            (
                positioned_impressions > 0,
                sa.func.sum(daily.position * daily.impressions) / positioned_impressions,
            )
        ).label("position"),
        sa.func.min(day_with_impressions).label("first_date"),
        sa.func.max(day_with_impressions).label("last_date"),
        sa.func.count(day_with_impressions).label("days_with_impressions"),
    ).group_by(daily.site_url, daily.search_type, daily.page)
    if only_dirty:
        dirty = gsc_lifetime_dirty.c
        stmt = stmt.join(
            gsc_lifetime_dirty,
            sa.and_(
                dirty.site_url == daily.site_url,
                dirty.search_type == daily.search_type,
                dirty.page == daily.page,
            ),
        )
    return stmt


def insert_lifetime_stmt(*, only_dirty: bool, updated_at: dt.datetime) -> sa.Insert:
    aggregate = lifetime_aggregate_select(only_dirty=only_dirty)
    aggregate = aggregate.add_columns(sa.literal(updated_at, sa.DateTime(timezone=True)))
    return sa.insert(gsc_page_lifetime).from_select(
        [*LIFETIME_KEY, *LIFETIME_VALUES, "updated_at"], aggregate
    )


def delete_dirty_lifetime_stmt() -> sa.Delete:
    """DELETE the lifetime rows of every page in gsc_lifetime_dirty."""
    lifetime, dirty = gsc_page_lifetime.c, gsc_lifetime_dirty.c
    is_dirty = (
        sa.select(1)
        .where(
            dirty.site_url == lifetime.site_url,
            dirty.search_type == lifetime.search_type,
            dirty.page == lifetime.page,
        )
        .exists()
    )
    return sa.delete(gsc_page_lifetime).where(is_dirty)


def refresh_lifetime(engine: sa.Engine) -> int:
    """Recompute the lifetime rows of the dirty pages only, then clear the dirty set.

    Pages with no daily rows left lose their lifetime row. Returns the number of dirty pages.
    Concurrent partition writes wait for this transaction (the dirty set is locked), so a page
    marked while refreshing is never cleared unrefreshed.
    """
    with begin_write(engine) as conn:
        lock_table_exclusive(conn, gsc_lifetime_dirty)
        pages = conn.execute(
            sa.select(sa.func.count()).select_from(gsc_lifetime_dirty)
        ).scalar_one()
        if pages:
            conn.execute(delete_dirty_lifetime_stmt())
            conn.execute(insert_lifetime_stmt(only_dirty=True, updated_at=dt.datetime.now(dt.UTC)))
            conn.execute(sa.delete(gsc_lifetime_dirty))
    return int(pages)
