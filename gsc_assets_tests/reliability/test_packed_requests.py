"""Packed requests over real HTTP: exact requests, each date written once, never half a date.

A `[date]` request for several dates answers rows sorted by clicks across them, so a date is
published only once every page of its request is in. Against the simulator, on SQLite and
PostgreSQL: a packed range that spans pages writes each date exactly once with exactly the
API's rows, in the planned number of requests; a permanent failure between two pages of a
packed request leaves none of its dates written, and every date that is written is whole.
"""

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.reconciliation import reconciliation_for
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.credentials import load_token_provider
from gsc_assets.search_console.errors import BadRequestError
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.sync.daily import day_slices, sync_days, sync_report
from gsc_assets.sync.requests import SharedTotals
from gsc_assets.warehouse.schema import gsc_api_totals, gsc_sync_log
from gsc_assets.warehouse.sync_log import latest_syncs
from gsc_assets_tests.reliability.harness import expected_rows, stored_rows

SITE = DEFAULT_SITES[1].site_url  # sc-domain:example.org: ~150 page rows a day
WEB = SearchType.WEB
ROW_LIMIT = 500


class FailingClient(SearchConsoleClient):
    """The real HTTP client; `fail(request)` decides which request fails permanently."""

    def __init__(self, base_url, fail=lambda request: False):
        super().__init__(
            base_url, load_token_provider(access_token="sim-token", credentials_file=None)
        )
        self.fail = fail
        self.sent = []
        self.dimensions = []

    def query(self, request):
        self.sent.append((request.start_date, request.end_date, request.start_row))
        self.dimensions.append(tuple(d.value for d in request.dimensions))
        if self.fail(request):
            raise BadRequestError("simulated: the connection died between two pages")
        return super().query(request)


def make_fetcher(client, concurrency=4):
    limiter = QuotaLimiter(InMemoryQuotaStore(), budget_qpm=100_000)
    return PartitionFetcher(
        client,
        limiter,
        credential_id="sim",
        max_concurrency=concurrency,
        row_limit=ROW_LIMIT,
        retry_policy=RetryPolicy(base_delay_seconds=0.01, max_delay_seconds=0.1),
    )


def sync_web(fetcher, engine, report, dates, **options):
    """`sync_report` of SITE's final web data for `dates`."""
    return sync_report(
        fetcher,
        engine,
        report,
        dates,
        sites=[SITE],
        search_types=[WEB],
        data_state=DataState.FINAL,
        **options,
    )


def final_dates(sim, count):
    last = sim.today() - dt.timedelta(days=5)
    return [last - dt.timedelta(days=n) for n in range(count - 1, -1, -1)]


def pages_for(rows, cap):
    """Requests Google needs for `rows` rows below the cap: up to and including a short page."""
    return min(rows // ROW_LIMIT + 1, cap // ROW_LIMIT)


def sync_log_rows(engine, report):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(gsc_sync_log.c.date, gsc_sync_log.c.requests).where(
                gsc_sync_log.c.report == report.name
            )
        ).all()


def test_a_packed_range_spanning_pages_writes_each_date_once_exactly(
    make_simulator, warehouse_engine
):
    sim = make_simulator(sites=(DEFAULT_SITES[1],))
    dates = final_dates(sim, 10)
    want = {date: expected_rows(sim, PAGE_REPORT.table, SITE, date) for date in dates}
    total = sum(map(len, want.values()))
    assert total > 2 * ROW_LIMIT  # the one packed request spans several pages
    client = FailingClient(sim.base_url)
    fetcher = make_fetcher(client)
    days = day_slices(PAGE_REPORT, dates, [SITE], [WEB])
    lines = []
    try:
        # 40 rows a day expected: all 10 dates fit one 500-row page, so they share a request.
        outcome = sync_days(
            fetcher,
            warehouse_engine,
            PAGE_REPORT,
            days,
            DataState.FINAL,
            rows_per_day={(SITE, WEB): 40},
            log=lines.append,
        )
    finally:
        fetcher.close()
        client.close()
    # One totals request for the 10 dates + the packed request's pages.
    assert fetcher.stats.requests == 1 + pages_for(total, 10 * 50_000)
    # One log line for the sync (each line is an event-log write in a Dagster run).
    assert lines == [
        f"gsc_page_daily: wrote {total:,} rows for 10 dates ({dates[0]}..{dates[-1]}, "
        "10 site/type slices, replaced 0 rows)"
    ]
    assert outcome.planned_requests == 2
    assert sorted(outcome.dates) == dates
    for date in dates:
        assert stored_rows(warehouse_engine, PAGE_REPORT.table, SITE, date) == want[date]
    logged = sync_log_rows(warehouse_engine, PAGE_REPORT)
    assert sorted(date for date, _ in logged) == dates  # each date written exactly once
    assert sum(requests for _, requests in logged) == fetcher.stats.requests - 1
    assert all(r.rows_fetched == len(want[r.date]) for r in latest_syncs(warehouse_engine))


def test_a_cold_start_probes_one_date_then_packs_the_rest(make_simulator, warehouse_engine):
    sim = make_simulator(sites=(DEFAULT_SITES[1],))
    dates = final_dates(sim, 12)
    client = FailingClient(sim.base_url)
    fetcher = make_fetcher(client)
    try:
        site = sync_web(fetcher, warehouse_engine, SITE_REPORT, dates)
        before = fetcher.stats.requests
        page = sync_web(fetcher, warehouse_engine, PAGE_REPORT, dates)
    finally:
        fetcher.close()
        client.close()
    assert before == 1 and site.planned_requests == 1  # one row a day: 12 dates, 1 request
    rows = {date: len(expected_rows(sim, PAGE_REPORT.table, SITE, date)) for date in dates}
    # Probe the first date alone (with the totals), learn its rows, pack the other 11.
    per_request = (ROW_LIMIT - 1) // -(-rows[dates[0]] * 11 // 10)
    ranges = [dates[1:][n : n + per_request] for n in range(0, 11, per_request)]
    want = 1 + pages_for(rows[dates[0]], 50_000)
    want += sum(pages_for(sum(rows[d] for d in run), 50_000 * len(run)) for run in ranges)
    assert fetcher.stats.requests - before == want
    assert page.planned_requests == 2 + len(ranges)
    for date in dates:
        stored = stored_rows(warehouse_engine, PAGE_REPORT.table, SITE, date)
        assert stored == expected_rows(sim, PAGE_REPORT.table, SITE, date)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_failure_between_pages_of_a_packed_request_leaves_no_date_half_written(
    make_simulator, warehouse_engine, concurrency
):
    sim = make_simulator(sites=(DEFAULT_SITES[1],))
    dates = final_dates(sim, 12)
    # 100 rows a day expected: 4 dates a request -> three packed ranges of ~580 rows (2 pages).
    second = dates[4]
    client = FailingClient(
        sim.base_url, fail=lambda r: r.start_date == second and r.start_row == ROW_LIMIT
    )
    fetcher = make_fetcher(client, concurrency)
    days = day_slices(PAGE_REPORT, dates, [SITE], [WEB])
    with pytest.raises(BadRequestError):
        try:
            sync_days(
                fetcher,
                warehouse_engine,
                PAGE_REPORT,
                days,
                DataState.FINAL,
                rows_per_day={(SITE, WEB): 100},
            )
        finally:
            fetcher.close()
            client.close()
    assert (second, dates[7], 0) in client.sent  # its first page did arrive
    written = {date for date, _ in sync_log_rows(warehouse_engine, PAGE_REPORT)}
    assert not written & set(dates[4:8])  # no date of the failed request
    for date in dates:
        stored = stored_rows(warehouse_engine, PAGE_REPORT.table, SITE, date)
        if date in written:
            assert stored == expected_rows(sim, PAGE_REPORT.table, SITE, date)
        else:
            assert stored == []


@pytest.mark.parametrize("shared", [True, False], ids=["one run", "separate runs"])
def test_reports_reconciling_against_the_same_totals_share_one_request_per_run(
    make_simulator, warehouse_engine, shared
):
    """Page and page x query both reconcile against the byPage [date] totals: in one run the
    second report takes them from the first instead of asking Google again."""
    sim = make_simulator(sites=(DEFAULT_SITES[1],))
    dates = final_dates(sim, 6)
    client = FailingClient(sim.base_url)
    fetcher = make_fetcher(client)
    one_run = SharedTotals()
    try:
        for report in (PAGE_REPORT, PAGE_QUERY_REPORT):
            outcome = sync_web(
                fetcher,
                warehouse_engine,
                report,
                dates,
                shared_totals=one_run if shared else SharedTotals(),
            )
    finally:
        fetcher.close()
        client.close()
    # The totals request is the only one grouped by date alone (6 dates: one range).
    assert client.dimensions.count(("date",)) == (1 if shared else 2)
    t = gsc_api_totals.c
    with warehouse_engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.report, t.date, t.clicks, t.impressions).where(t.site_url == SITE)
        ).all()
    by_report = {
        name: {row.date: (row.clicks, row.impressions) for row in stored if row.report == name}
        for name in (PAGE_REPORT.name, PAGE_QUERY_REPORT.name)
    }
    assert sorted(by_report[PAGE_REPORT.name]) == dates
    assert by_report[PAGE_QUERY_REPORT.name] == by_report[PAGE_REPORT.name]
    # Shared totals cost page x query nothing: its dates' requests are its own rows' only.
    own = client.dimensions.count(("date", "page", "query"))
    assert sum(d.requests for d in outcome.by_date.values()) == own + (0 if shared else 1)


def test_only_final_totals_are_shared():
    """Totals Google may still change are fetched again by each report that needs them."""
    totals = reconciliation_for(PAGE_REPORT).totals_report
    day = DaySlice(SITE, dt.date(2026, 11, 30), WEB)
    shared = SharedTotals()
    fresh = ReportData(
        day,
        totals,
        rows=[("2026-11-30", 1.0, 2.0, 0.5, 3.0)],
        requests=1,
        data_state=DataState.ALL,
        first_incomplete_date=dt.date(2026, 11, 30),
    )
    shared.keep(fresh)
    assert not fresh.is_final and shared.take(totals, DataState.ALL, day) is None
    final = dataclasses.replace(fresh, first_incomplete_date=dt.date(2026, 12, 1))
    shared.keep(final)
    reused = shared.take(totals, DataState.ALL, day)
    assert final.is_final and reused is not None
    assert (reused.rows, reused.requests) == (final.rows, 0) and reused.rows is not final.rows
