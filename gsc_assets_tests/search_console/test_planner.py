"""The request plan, pinned: exact request counts for given row counts, caps and ranges.

Pure planner tests (no HTTP), plus one fetcher test that a day at Google's 50,000-row cap costs
exactly two requests (never a third that can only come back empty).
"""

import datetime as dt
import threading

from gsc_assets.reports.catalogue import (
    BUILTIN_BY_NAME,
    PAGE_QUERY_REPORT,
    PAGE_REPORT,
    PAGE_TOTALS_REPORT,
    SITE_REPORT,
)
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.models import QueryPage
from gsc_assets.search_console.planner import (
    days_per_request,
    plan_requests,
    probe_days,
)
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter
from gsc_assets_tests.fakes import FakeClock

SITE, OTHER = "https://www.example.com/", "sc-domain:example.org"
START = dt.date(2025, 3, 1)
WEB, IMAGE = SearchType.WEB, SearchType.IMAGE


def days(count, site=SITE, search_type=WEB, start=START):
    return [DaySlice(site, start + dt.timedelta(days=n), search_type) for n in range(count)]


def spans(plans):
    return [((p.start_date - START).days, p.days) for p in plans]


def test_a_report_without_dimensions_packs_every_consecutive_date_into_one_request():
    assert spans(plan_requests(SITE_REPORT, days(30))) == [(0, 30)]
    assert spans(plan_requests(PAGE_TOTALS_REPORT, days(30))) == [(0, 30)]
    assert plan_requests(SITE_REPORT, days(30))[0].row_cap == 30  # one row a day


def test_rows_per_day_learned_decide_how_many_dates_share_a_page():
    # 2,000 rows a day (+10% margin = 2,200): 11 dates fit one 25,000-row page.
    assert days_per_request(PAGE_REPORT, 2_000) == 11
    plans = plan_requests(PAGE_REPORT, days(30), {(SITE, WEB): 2_000})
    assert spans(plans) == [(0, 11), (11, 11), (22, 8)]
    assert [p.row_cap for p in plans] == [550_000, 550_000, 400_000]
    # 20,000 rows a day: a date alone; 25,000 or more (up to the cap): a date alone too.
    for rows in (20_000, 25_000, 50_000):
        assert len(plan_requests(PAGE_QUERY_REPORT, days(30), {(SITE, WEB): rows})) == 30
    # No rows recently: pack a month at most (a page that comes back full is simply followed;
    # the estimate may be wrong, e.g. a probe date before the site existed).
    assert spans(plan_requests(PAGE_REPORT, days(30), {(SITE, WEB): 0})) == [(0, 30)]
    for rows in (0, 3, 100):
        plans = plan_requests(PAGE_REPORT, days(486), {(SITE, WEB): rows})
        assert [p.days for p in plans] == [31] * 15 + [21], rows
    # Reports without dimensions know their rows exactly: 16 months in one request.
    assert spans(plan_requests(SITE_REPORT, days(486))) == [(0, 486)]


def test_without_history_a_date_is_requested_alone_after_one_probe_per_site_and_type():
    two_keys = days(5) + days(5, search_type=IMAGE)
    assert spans(plan_requests(PAGE_REPORT, two_keys)) == [(n, 1) for n in range(5) for _ in "ab"]
    assert probe_days(PAGE_REPORT, two_keys) == [days(1)[0], days(1, search_type=IMAGE)[0]]
    assert probe_days(PAGE_REPORT, two_keys, {(SITE, WEB): 10}) == [days(1, search_type=IMAGE)[0]]
    assert probe_days(PAGE_REPORT, days(1)) == []  # one date: nothing to learn for
    assert probe_days(SITE_REPORT, days(30)) == []  # one row a day: nothing to learn


def test_only_consecutive_dates_of_one_site_and_type_share_a_request():
    gappy = [d for d in days(10) if d.date.day not in (4, 8)]  # 1-3, 5-7, 9-10
    plans = plan_requests(SITE_REPORT, gappy + days(10, site=OTHER))
    assert [(p.site_url, *spans([p])[0]) for p in plans] == [
        (SITE, 0, 3),
        (OTHER, 0, 10),
        (SITE, 4, 3),
        (SITE, 8, 2),
    ]


def test_search_appearance_and_hourly_reports_stay_one_date_per_request():
    appearance = BUILTIN_BY_NAME["search_appearance"]
    hourly = BUILTIN_BY_NAME["page_hourly"]
    for report in (appearance, hourly, BUILTIN_BY_NAME["site_hourly"]):
        assert len(plan_requests(report, days(10), {(SITE, WEB): 1})) == 10, report.name
        assert probe_days(report, days(10)) == []


def test_the_three_core_reports_for_30_days_need_66_requests_not_210():
    """site 1 + page 3 + page x query 60 (two full pages a day at the cap) + totals 2."""
    history = {(SITE, WEB): 2_000}
    page = plan_requests(PAGE_REPORT, days(30), history)
    page_query = plan_requests(PAGE_QUERY_REPORT, days(30), {(SITE, WEB): 50_000})
    pages_at_cap = sum(p.row_cap // 25_000 for p in page_query)
    totals = 2 * len(plan_requests(PAGE_TOTALS_REPORT, days(30)))
    assert (len(plan_requests(SITE_REPORT, days(30))), len(page), pages_at_cap, totals) == (
        1,
        3,
        60,
        2,
    )


class FullPages:
    """Every request answers a full page: only the plan's cap can stop the paging."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def query(self, request):
        with self.lock:
            self.calls.append((request.start_date, request.end_date, request.start_row))
        row = (request.start_date.isoformat(), "p", "q", 1.0, 2.0, 0.5, 1.0)
        return QueryPage(rows=[row] * request.row_limit)


def test_a_day_at_the_cap_costs_two_requests_never_a_third():
    client = FullPages()
    limiter = QuotaLimiter(InMemoryQuotaStore(), budget_qpm=100_000, clock=FakeClock())
    fetcher = PartitionFetcher(client, limiter, credential_id="sa@x", max_concurrency=1)
    try:
        plans = plan_requests(PAGE_QUERY_REPORT, days(2), {(SITE, WEB): 50_000})
        results = list(fetcher.iter_requests(plans, DataState.FINAL))
    finally:
        fetcher.close()
    assert sorted(client.calls) == [
        (START, START, 0),
        (START, START, 25_000),
        (START + dt.timedelta(days=1), START + dt.timedelta(days=1), 0),
        (START + dt.timedelta(days=1), START + dt.timedelta(days=1), 25_000),
    ]
    batches = [batch for _plan, by_date in results for batch in by_date.values()]
    assert [(len(b.rows), b.truncated, b.requests, b.pages) for b in batches] == [
        (50_000, True, 2, 2)
    ] * 2
