"""Contract of the lifetime table: `refresh_lifetime` recomputes only the pages that
`replace_partition` marked dirty, and the result always equals a full recomputation from
gsc_page_daily (sums; ctr = clicks / impressions; impression-weighted position; dates and day
counts over days with impressions).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.lifetime import refresh_lifetime
from gsc_assets.warehouse.schema import gsc_lifetime_dirty, gsc_page_lifetime
from gsc_assets.warehouse.writes import replace_partition
from gsc_assets_tests.warehouse.lifetime_oracle import (
    lifetime_matches_full_recompute,
    recompute_lifetime_full,
)

SITE = "https://www.example.com/"
DAY = dt.date(2024, 1, 3)


def day_batch(day: dt.date, rows: dict[str, tuple], search_type=SearchType.WEB) -> ReportData:
    """rows: page -> (clicks, impressions, position)."""
    table_rows = [
        (
            day.isoformat(),
            page,
            clicks,
            impressions,
            clicks / impressions if impressions else 0.0,
            pos,
        )
        for page, (clicks, impressions, pos) in rows.items()
    ]
    return ReportData(DaySlice(SITE, day, search_type), PAGE_REPORT, table_rows)


def dirty_pages(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(gsc_lifetime_dirty.c.page)).scalars())


def lifetime_rows(engine: sa.Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(gsc_page_lifetime)).mappings().all()
    return {row["page"]: dict(row) for row in rows}


def test_refresh_lifetime_aggregates_by_the_documented_definitions(warehouse_engine):
    replace_partition(
        warehouse_engine,
        PAGE_REPORT,
        [
            day_batch(DAY, {"/a": (2.0, 10.0, 1.0)}),
            day_batch(DAY + dt.timedelta(days=1), {"/a": (0.0, 0.0, None)}),
            day_batch(DAY + dt.timedelta(days=2), {"/a": (1.0, 30.0, 5.0)}),
        ],
    )

    assert refresh_lifetime(warehouse_engine) == 1

    row = lifetime_rows(warehouse_engine)["/a"]
    assert (row["clicks"], row["impressions"]) == (3.0, 40.0)
    assert row["ctr"] == pytest.approx(3.0 / 40.0)
    assert row["position"] == pytest.approx((1.0 * 10 + 5.0 * 30) / 40)
    assert (row["first_date"], row["last_date"]) == (DAY, DAY + dt.timedelta(days=2))
    assert row["days_with_impressions"] == 2
    assert dirty_pages(warehouse_engine) == set()


def test_refresh_lifetime_handles_pages_without_impressions_or_position(warehouse_engine):
    replace_partition(
        warehouse_engine,
        PAGE_REPORT,
        [
            day_batch(
                DAY,
                {"/never-seen": (0.0, 0.0, None), "/news": (1.0, 4.0, None)},
                search_type=SearchType.DISCOVER,
            ),
        ],
    )
    refresh_lifetime(warehouse_engine)

    rows = lifetime_rows(warehouse_engine)
    assert (rows["/never-seen"]["ctr"], rows["/never-seen"]["first_date"]) == (None, None)
    assert rows["/never-seen"]["days_with_impressions"] == 0
    assert (rows["/news"]["ctr"], rows["/news"]["position"]) == (0.25, None)


def test_replace_partition_marks_only_the_pages_it_touched(warehouse_engine):
    replace_partition(
        warehouse_engine,
        PAGE_REPORT,
        [
            day_batch(DAY, {"/b": (1.0, 1.0, 1.0), "/c": (1.0, 1.0, 1.0)}),
            day_batch(DAY + dt.timedelta(days=1), {"/d": (1.0, 1.0, 1.0), "/e": (1.0, 1.0, 1.0)}),
        ],
    )
    refresh_lifetime(warehouse_engine)

    replace_partition(
        warehouse_engine,
        PAGE_REPORT,
        [day_batch(DAY, {"/a": (1.0, 1.0, 1.0), "/b": (2.0, 2.0, 1.0)})],
    )

    assert dirty_pages(warehouse_engine) == {"/a", "/b", "/c"}
    assert refresh_lifetime(warehouse_engine) == 3
    assert set(lifetime_rows(warehouse_engine)) == {"/a", "/b", "/d", "/e"}
    assert lifetime_matches_full_recompute(warehouse_engine) == []


def test_other_reports_do_not_mark_lifetime_pages(warehouse_engine):
    rows = [(DAY.isoformat(), "/a", "q", 1.0, 1.0, 1.0, 1.0)]
    replace_partition(
        warehouse_engine,
        PAGE_QUERY_REPORT,
        [ReportData(DaySlice(SITE, DAY), PAGE_QUERY_REPORT, rows)],
    )
    site_rows = [(DAY.isoformat(), 1.0, 1.0, 1.0, 1.0)]
    replace_partition(
        warehouse_engine, SITE_REPORT, [ReportData(DaySlice(SITE, DAY), SITE_REPORT, site_rows)]
    )

    assert dirty_pages(warehouse_engine) == set()
    assert refresh_lifetime(warehouse_engine) == 0


def test_refresh_lifetime_matches_full_recompute_after_many_replaces(warehouse_engine):
    rng = random.Random(3)
    days = [DAY + dt.timedelta(days=n) for n in range(6)]
    for step in range(25):
        day = rng.choice(days)
        search_type = rng.choice([SearchType.WEB, SearchType.DISCOVER])
        pages = rng.sample([f"/p{n}" for n in range(15)], rng.randint(0, 8))
        rows = {
            page: (
                float(rng.randint(0, 5)),
                float(rng.randint(0, 40)),
                None if search_type is SearchType.DISCOVER else rng.uniform(1, 30),
            )
            for page in pages
        }
        replace_partition(warehouse_engine, PAGE_REPORT, [day_batch(day, rows, search_type)])
        if step % 4 == 0:
            refresh_lifetime(warehouse_engine)
    refresh_lifetime(warehouse_engine)

    assert lifetime_matches_full_recompute(warehouse_engine) == []
    assert dirty_pages(warehouse_engine) == set()


def test_lifetime_matches_full_recompute_reports_drift_and_full_recompute_repairs_it(
    warehouse_engine,
):
    replace_partition(
        warehouse_engine,
        PAGE_REPORT,
        [day_batch(DAY, {"/a": (1.0, 2.0, 3.0), "/b": (1.0, 2.0, 3.0)})],
    )
    refresh_lifetime(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.execute(
            sa.update(gsc_page_lifetime).where(gsc_page_lifetime.c.page == "/a").values(clicks=99.0)
        )
        conn.execute(sa.delete(gsc_page_lifetime).where(gsc_page_lifetime.c.page == "/b"))

    differences = lifetime_matches_full_recompute(warehouse_engine)

    assert {(d.key[2], d.column) for d in differences} == {("/a", "clicks"), ("/b", "<row>")}
    recompute_lifetime_full(warehouse_engine)
    assert lifetime_matches_full_recompute(warehouse_engine) == []
