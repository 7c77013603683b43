"""Contract: the dataset is a pure, fast function of (seed, site, date, type, revision) with the
shape of a real property: Zipf-like, a page x query day above the 50,000-row cap on the big site,
page-only surfaces smaller than web, near-duplicate URLs and awkward queries, 16-month retention
and a fresh tail that only grows until it is final."""

import datetime as dt
import time

import numpy as np
import pytest

from gsc_assets.simulator import dataset, freshness
from gsc_assets.simulator.dataset import DEFAULT_SITES, final_facts, partial_facts, site_universe

BIG, SMALL = DEFAULT_SITES
DAY = dt.date(2025, 6, 3)  # a Tuesday


def page_query_rows(facts: dataset.DayFacts) -> int:
    return len(np.unique(facts.page.astype(np.int64) * 1_000_000 + facts.query))


def test_final_facts_are_deterministic_for_a_seed():
    first = dataset._generate(7, BIG, DAY, "web", 0)
    second = dataset._generate(7, BIG, DAY, "web", 0)
    assert np.array_equal(first.impressions, second.impressions)
    assert np.array_equal(first.page, second.page)


def test_final_facts_differ_between_seeds_and_revisions():
    base = final_facts(0, SMALL, DAY, "web")
    assert not np.array_equal(base.impressions, final_facts(1, SMALL, DAY, "web").impressions)
    assert not np.array_equal(base.impressions, final_facts(0, SMALL, DAY, "web", 1).impressions)


def test_big_site_web_day_exceeds_the_daily_row_cap_with_about_two_thousand_pages():
    for day in (DAY, dt.date(2025, 6, 1)):  # weekday and Sunday
        facts = final_facts(0, BIG, day, "web")
        assert page_query_rows(facts) > 50_000
        assert 1_800 <= len(np.unique(facts.page)) <= 2_000


def test_small_site_web_day_has_about_three_thousand_page_query_rows():
    assert 2_500 <= page_query_rows(final_facts(0, SMALL, DAY, "web")) <= 3_300


def test_other_search_types_are_smaller_than_web():
    web = final_facts(0, BIG, DAY, "web").impressions.sum()
    for search_type in ("image", "video", "news", "discover", "googleNews"):
        share = final_facts(0, BIG, DAY, search_type).impressions.sum() / web
        assert 0.02 < share < 0.2, search_type


def test_weekends_have_less_traffic_than_weekdays():
    saturday = final_facts(0, BIG, dt.date(2025, 6, 7), "web").impressions.sum()
    assert saturday < final_facts(0, BIG, DAY, "web").impressions.sum()


def test_generating_a_big_day_takes_well_under_half_a_second():
    site_universe(0, BIG)
    started = time.perf_counter()
    dataset._generate(0, BIG, dt.date(2025, 1, 9), "web", 0)
    assert time.perf_counter() - started < 0.5


def test_facts_keep_clicks_within_impressions_and_positions_at_least_one():
    facts = final_facts(0, BIG, DAY, "web")
    assert (facts.clicks <= facts.impressions).all()
    assert (facts.clicks <= facts.property_impressions).all()
    assert (facts.property_impressions <= facts.impressions).all()
    assert facts.position.min() >= 1.0
    assert (facts.property_position <= facts.position).all()
    assert 0.1 < facts.anonymized.mean() < 0.2


def test_pages_include_near_duplicate_variants():
    pages = site_universe(0, BIG).pages
    assert all(p.startswith("https://www.example.com/") for p in pages)
    assert any(p.endswith("?utm_source=newsletter") for p in pages)
    assert any(p.endswith("/") and p.rstrip("/") in pages for p in pages)
    assert any(p != p.lower() and p.lower() in {q.lower() for q in pages if q != p} for p in pages)


def test_domain_property_pages_span_its_subdomains():
    pages = site_universe(0, SMALL).pages
    assert any(p.startswith("https://example.org/") for p in pages)
    assert any(p.startswith("https://blog.example.org/") for p in pages)


def test_queries_include_quotes_and_non_ascii_text():
    queries = site_universe(0, BIG).queries
    assert len(set(queries)) == len(queries)
    assert any('"' in q for q in queries)
    assert any(not q.isascii() for q in queries)


def test_partial_facts_are_a_smaller_subset_of_the_final_day():
    final = final_facts(0, SMALL, DAY, "web")
    partial = partial_facts(0, SMALL, DAY, "web", 0, 0.35)
    assert len(partial) < len(final)
    assert partial.impressions.sum() < final.impressions.sum()
    assert (partial.clicks <= partial.impressions).all()
    assert partial_facts(0, SMALL, DAY, "web", 0, 1.0) is final_facts(0, SMALL, DAY, "web", 0)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2025, 6, 15), dt.date(2024, 2, 15)),
        (dt.date(2025, 7, 31), dt.date(2024, 3, 31)),
        (dt.date(2025, 6, 30), dt.date(2024, 2, 29)),
    ],
)
def test_retention_start_is_sixteen_months_back_clamped_to_month_end(today, expected):
    assert freshness.retention_start(today) == expected


def test_completeness_follows_lag_and_retention():
    today = dt.date(2025, 6, 15)
    assert freshness.completeness(today - dt.timedelta(days=3), today, "final") == 1.0
    assert freshness.completeness(today - dt.timedelta(days=2), today, "final") is None
    assert freshness.completeness(today - dt.timedelta(days=2), today, "all") == 0.92
    assert freshness.completeness(today, today, "all") == 0.35
    assert freshness.completeness(today + dt.timedelta(days=1), today, "all") is None
    assert freshness.completeness(dt.date(2024, 2, 14), today, "final") is None
    assert freshness.first_incomplete_date(today) == dt.date(2025, 6, 13)
