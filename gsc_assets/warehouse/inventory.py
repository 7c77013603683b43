"""Inventory and URL Inspection tables: daily snapshots that accumulate history.

- `gsc_sites`: per snapshot date, every property the credential sees and every configured one,
  with the permission level and whether it is visible / configured;
- `gsc_sitemaps` and `gsc_sitemap_contents`: per snapshot date and property, each sitemap and its
  per-content-type submitted / indexed counts;
- `gsc_url_inspection`: one row per (site, page, inspection date).
A snapshot (or a day's inspections of one page) is replaced in one transaction, so re-running a
day never duplicates and readers never see half of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from gsc_assets.warehouse.engine import begin_write, lock_for_transaction
from gsc_assets.warehouse.schema import metadata, natural_key

_TIME = sa.DateTime(timezone=True)

gsc_sites = sa.Table(
    "gsc_sites",
    metadata,
    sa.Column("snapshot_date", sa.Date, primary_key=True),
    sa.Column("site_url", sa.Text, primary_key=True),
    sa.Column("permission_level", sa.Text, nullable=True),
    sa.Column("visible", sa.Boolean, nullable=False),
    sa.Column("configured", sa.Boolean, nullable=False),
    comment="properties the credential can see, and the configured ones, per day",
)
gsc_sitemaps = sa.Table(
    "gsc_sitemaps",
    metadata,
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("site_url", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=True),
    sa.Column("is_pending", sa.Boolean, nullable=False),
    sa.Column("is_sitemaps_index", sa.Boolean, nullable=False),
    sa.Column("last_submitted", _TIME, nullable=True),
    sa.Column("last_downloaded", _TIME, nullable=True),
    sa.Column("warnings", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    *natural_key("gsc_sitemaps", ("snapshot_date", "site_url"), ("path",)),
    comment="each property's sitemaps as Search Console last processed them, per day",
)
gsc_sitemap_contents = sa.Table(
    "gsc_sitemap_contents",
    metadata,
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("site_url", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("submitted", sa.BigInteger, nullable=False),
    sa.Column("indexed", sa.BigInteger, nullable=True),
    *natural_key("gsc_sitemap_contents", ("snapshot_date", "site_url"), ("path", "content_type")),
    comment="submitted and indexed URLs per sitemap and content type, per day",
)
gsc_url_inspection = sa.Table(
    "gsc_url_inspection",
    metadata,
    sa.Column("site_url", sa.Text, nullable=False),
    sa.Column("page", sa.Text, nullable=False),
    sa.Column("inspection_date", sa.Date, nullable=False),
    sa.Column("verdict", sa.Text, nullable=True),
    sa.Column("coverage_state", sa.Text, nullable=True),
    sa.Column("indexing_state", sa.Text, nullable=True),
    sa.Column("robots_txt_state", sa.Text, nullable=True),
    sa.Column("page_fetch_state", sa.Text, nullable=True),
    sa.Column("last_crawl_time", _TIME, nullable=True),
    sa.Column("google_canonical", sa.Text, nullable=True),
    sa.Column("user_canonical", sa.Text, nullable=True),
    sa.Column("crawled_as", sa.Text, nullable=True),
    sa.Column("inspection_link", sa.Text, nullable=True),
    sa.Column("inspected_at", _TIME, nullable=False),
    *natural_key("gsc_url_inspection", ("site_url", "inspection_date"), ("page",)),
    comment="Google's index status of the pages that matter, one row per page and day",
)


Rows = Sequence[dict[str, Any]]


def replace_site_snapshot(
    engine: sa.Engine, day: dt.date, sites: Rows, sitemaps: Rows, contents: Rows
) -> None:
    """Replace the `day` snapshot of sites, sitemaps and their contents in one transaction.

    Rows are column -> value mappings without snapshot_date (added here).
    """
    with begin_write(engine) as conn:
        lock_for_transaction(conn, gsc_sites.name, day.isoformat())
        for table, rows in (
            (gsc_sites, sites),
            (gsc_sitemaps, sitemaps),
            (gsc_sitemap_contents, contents),
        ):
            conn.execute(sa.delete(table).where(table.c.snapshot_date == day))
            if rows:
                conn.execute(sa.insert(table), [{**row, "snapshot_date": day} for row in rows])


def store_inspections(engine: sa.Engine, day: dt.date, rows: Rows) -> int:
    """Replace the `day` row of each inspected page (rows without inspection_date/inspected_at)."""
    if not rows:
        return 0
    now = dt.datetime.now(dt.UTC)
    c = gsc_url_inspection.c
    with begin_write(engine) as conn:
        # Concurrent runs may store the same page; they take turns per property and day.
        for site in sorted({row["site_url"] for row in rows}):
            lock_for_transaction(conn, gsc_url_inspection.name, site, day.isoformat())
        for row in rows:
            conn.execute(
                sa.delete(gsc_url_inspection).where(
                    c.site_url == row["site_url"], c.page == row["page"], c.inspection_date == day
                )
            )
        conn.execute(
            sa.insert(gsc_url_inspection),
            [{**row, "inspection_date": day, "inspected_at": now} for row in rows],
        )
    return len(rows)
