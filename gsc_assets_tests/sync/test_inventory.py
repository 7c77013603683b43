"""Inventory and URL Inspection against the simulator over HTTP, on SQLite and Postgres.

Contract: the inventory tables equal the simulator's answers, flag a configured property the
credential cannot see and a visible one not configured; inspections never exceed the daily
budget, across two concurrent runs and a restart the same day, and the next day resumes the
rotation where it stopped; the indexing check fails on a planted verdict or canonical change.
"""

from __future__ import annotations

import datetime as dt
import threading

import requests
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.credentials import StaticTokenProvider
from gsc_assets.search_console.inspection import InspectionQuota
from gsc_assets.search_console.quota_log import InMemoryQuotaStore
from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.sync.inventory import plan_inspections, sync_inspections, sync_inventory
from gsc_assets.warehouse.inventory import gsc_sitemap_contents, gsc_sitemaps, gsc_sites
from gsc_assets.warehouse.quality.inventory import (
    configured_properties_visible,
    indexing_unchanged,
    sitemaps_have_no_errors,
)
from gsc_assets.warehouse.quota_store import SqlQuotaStore
from gsc_assets.warehouse.writes import replace_partition

BIG, SMALL = (spec.site_url for spec in DEFAULT_SITES)
DAY = dt.date(2026, 11, 20)


def client_for(sim) -> SearchConsoleClient:
    return SearchConsoleClient(sim.base_url, StaticTokenProvider("sim-token"))


def rows(engine, table: sa.Table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def test_inventory_tables_equal_the_simulators_answers_and_flag_visibility(
    make_simulator, warehouse_engine
):
    sim = make_simulator(access={"sim-token": (BIG,)})
    gone = "https://gone.example.net/"
    with client_for(sim) as client:
        outcome = sync_inventory(client, warehouse_engine, [BIG, gone], DAY)
        sync_inventory(client, warehouse_engine, [BIG, gone], DAY)  # a re-run replaces
    assert outcome.configured_not_visible == [gone] and outcome.visible_not_configured == []
    sites = {r["site_url"]: r for r in rows(warehouse_engine, gsc_sites)}
    assert sites[BIG]["visible"] and sites[BIG]["permission_level"] == "siteOwner"
    assert not sites[gone]["visible"] and sites[gone]["configured"]
    answer = requests.get(
        f"{sim.base_url}/webmasters/v3/sites/https%3A%2F%2Fwww.example.com%2F/sitemaps",
        headers={"Authorization": "Bearer sim-token"},
        timeout=10,
    ).json()["sitemap"]
    stored = {r["path"]: r for r in rows(warehouse_engine, gsc_sitemaps)}
    assert set(stored) == {m["path"] for m in answer}
    for m in answer:
        row = stored[m["path"]]
        assert (row["errors"], row["warnings"], row["is_pending"]) == (
            int(m["errors"]),
            int(m["warnings"]),
            m["isPending"],
        )
    contents = rows(warehouse_engine, gsc_sitemap_contents)
    assert sorted((c["path"], c["content_type"], c["submitted"]) for c in contents) == sorted(
        (m["path"], c["type"], int(c["submitted"])) for m in answer for c in m["contents"]
    )
    with warehouse_engine.connect() as conn:
        visible = configured_properties_visible(conn)
        assert not visible.passed and visible.metadata["configured_not_visible"] == [gone]
        assert sitemaps_have_no_errors(conn).passed
    sim.configure(broken_sitemaps=[BIG])
    with client_for(sim) as client:
        sync_inventory(client, warehouse_engine, [BIG], DAY + dt.timedelta(days=1))
    with warehouse_engine.connect() as conn:
        broken = sitemaps_have_no_errors(conn)
        assert not broken.passed and broken.metadata["sitemaps_with_errors"] == 1
        assert configured_properties_visible(conn).passed  # the latest snapshot
    assert len({r["snapshot_date"] for r in rows(warehouse_engine, gsc_sites)}) == 2  # history


def seed_pages(engine, site: str, pages: int, day: dt.date = DAY) -> list[str]:
    """`pages` pages with clicks on the day before `day` (page i has pages - i clicks)."""
    urls = [f"https://example.org/p{i}" for i in range(pages)]
    day = day - dt.timedelta(days=1)
    batch = [
        (day.isoformat(), url, float(pages - i), 100.0, 0.1, 3.0) for i, url in enumerate(urls)
    ]
    replace_partition(engine, PAGE_REPORT, [ReportData(DaySlice(site, day), PAGE_REPORT, batch)])
    return urls


def test_plan_puts_top_pages_first_then_rotates_through_the_rest(warehouse_engine):
    urls = seed_pages(warehouse_engine, SMALL, 20)
    first = plan_inspections(warehouse_engine, SMALL, DAY, 8)
    assert first[:2] == urls[:2]  # the core: the most clicked pages, every day
    assert first == urls[:8]
    assert plan_inspections(warehouse_engine, SMALL, DAY, 100) == urls


def test_inspections_never_exceed_the_daily_budget_across_runs_and_resume_the_next_day(
    make_simulator, warehouse_engine
):
    sim = make_simulator(inspection_per_day=40)  # Google's quota; our budget is lower
    urls = seed_pages(warehouse_engine, SMALL, 30)
    store = SqlQuotaStore(warehouse_engine)  # shared as across processes and machines
    quota = InspectionQuota(store, daily_budget=12)
    results = []

    def run() -> None:
        with client_for(sim) as client:
            pages = plan_inspections(warehouse_engine, SMALL, DAY, 12)
            results.append(sync_inspections(client, quota, warehouse_engine, SMALL, pages, DAY))

    threads = [threading.Thread(target=run) for _ in range(2)]  # two concurrent runs
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run()  # a restart the same day
    assert sim.inspections() == {SMALL: 12}
    assert sum(r.inspected for r in results) == 12 and results[-1].inspected == 0
    assert results[-1].budget_spent and not any(r.throttled for r in results)
    with warehouse_engine.connect() as conn:
        done = set(conn.execute(sa.text("select page from gsc_url_inspection")).scalars())
    assert set(urls[:3]) <= done and len(done) <= 12  # the core first, within the budget
    tomorrow = plan_inspections(warehouse_engine, SMALL, DAY + dt.timedelta(days=1), 12)
    assert tomorrow[:3] == urls[:3]  # the top pages again
    never = [url for url in urls[3:] if url not in done]
    assert tomorrow[3:] == never[:9]  # then the rotation resumes: never inspected, by clicks


def test_the_indexing_check_fails_on_a_planted_verdict_or_canonical_change(
    make_simulator, warehouse_engine
):
    sim = make_simulator()
    page = "https://example.org/p0"
    seed_pages(warehouse_engine, SMALL, 3)
    quota = InspectionQuota(InMemoryQuotaStore(), daily_budget=50)
    with client_for(sim) as client:
        sync_inspections(client, quota, warehouse_engine, SMALL, [page], DAY)
        with warehouse_engine.connect() as conn:
            first = conn.execute(sa.text("select verdict from gsc_url_inspection")).scalar()
            assert first == "PASS" and indexing_unchanged(conn).passed
        sim.configure(
            inspection_overrides={
                page: {"verdict": "NEUTRAL", "googleCanonical": "https://example.org/other"}
            }
        )
        sync_inspections(client, quota, warehouse_engine, SMALL, [page], DAY + dt.timedelta(1))
    with warehouse_engine.connect() as conn:
        outcome = indexing_unchanged(conn)
    assert not outcome.passed and outcome.severity == "WARN"
    assert outcome.metadata["verdict_no_longer_pass"] == 1
    assert outcome.metadata["canonical_examples"][0]["google"] == "https://example.org/other"
