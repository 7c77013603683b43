"""Contract of PartitionFetcher, driven by a small in-process fake QueryClient.

Paging by start_row until a short page; days yielded in input order; retries ordered by due
time (not FIFO); retried units replace, never append; at most max_pending_days days in flight
or buffered; max_concurrency=1 gives the same results; a permanent error or a cancel halts
every worker and reaches the consumer within 1 s.
"""

import datetime as dt
import threading
import time

import pytest

from gsc_assets.reports.catalogue import CORE_REPORTS, PAGE_QUERY_REPORT, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.errors import (
    AuthenticationError,
    FetchCancelledError,
    LoadQuotaError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TokenRejectedError,
    TransportError,
)
from gsc_assets.search_console.fetcher import PartitionFetcher, RetriesExhaustedError
from gsc_assets.search_console.models import QueryPage
from gsc_assets.search_console.planner import one_day
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets_tests.fakes import FakeClock

SITE = "https://www.example.com/"
START = dt.date(2025, 1, 1)
REPORT_BY_DIMENSIONS = {r.request_dimensions: r.name for r in CORE_REPORTS}
ROW_LIMIT = 10


def days(count, search_type=SearchType.WEB):
    return [DaySlice(SITE, START + dt.timedelta(days=i), search_type) for i in range(count)]


class FakeClient:
    """Deterministic pages: a report's row count per day is `sizes[report]` (+ day index).

    `errors[(day_index, report, start_row)]` lists exceptions raised by successive calls.
    """

    def __init__(self, sizes=None, errors=None, hook=None):
        self.sizes = sizes or {"site": 1, "page": 25, "page_query": 20}
        self.errors = {key: list(value) for key, value in (errors or {}).items()}
        self.hook = hook
        self.calls = []
        self.lock = threading.Lock()

    def rows(self, request, report):
        index = (request.start_date - START).days
        total = self.sizes[report] + (index % 3)
        stop = min(request.start_row + request.row_limit, total)
        date = request.start_date.isoformat()
        return [
            (
                date,
                *(f"{report}-{request.search_type}-{i}" for _ in request.dimensions[1:]),
                float(i),
                float(10 * i),
                0.1,
                1.0,
            )
            for i in range(request.start_row, stop)
        ]

    def query(self, request):
        report = REPORT_BY_DIMENSIONS[request.dimensions]
        key = ((request.start_date - START).days, report, request.start_row)
        with self.lock:
            self.calls.append(key)
            pending = self.errors.get(key)
            error = pending.pop(0) if pending else None
        if self.hook is not None:
            self.hook(key)
        if error is not None:
            raise error
        return QueryPage(rows=self.rows(request, report))


def make_fetcher(client, clock=None, **kwargs):
    clock = clock or FakeClock()
    limiter = QuotaLimiter(InMemoryQuotaStore(), budget_qpm=100_000, clock=clock)
    kwargs.setdefault("retry_policy", RetryPolicy(base_delay_seconds=0.001, max_delay_seconds=0.01))
    kwargs.setdefault("max_concurrency", 4)
    return PartitionFetcher(
        client, limiter, credential_id="sa@x", clock=clock, row_limit=ROW_LIMIT, seed=1, **kwargs
    )


def collect(fetcher, day_slices, reports=CORE_REPORTS):
    try:
        return list(fetcher.iter_days(day_slices, reports, DataState.FINAL))
    finally:
        fetcher.close()


def test_fetcher_pages_until_a_short_or_empty_page():
    client = FakeClient(sizes={"site": 1, "page": 25, "page_query": 20})
    result = collect(make_fetcher(client), days(1))[0][1]
    assert len(result["page"].rows) == 25
    assert result["page"].pages == 3
    assert len(result["page_query"].rows) == 20  # two full pages, then an empty third
    assert result["page_query"].pages == 3
    assert result["site"].requests == 1
    starts = sorted(c[2] for c in client.calls if c[1] == "page_query")
    assert starts == [0, 10, 20]
    assert [row[-4] for row in result["page"].rows] == [float(i) for i in range(25)]


def test_fetcher_yields_days_in_input_order_with_sequential_and_concurrent_runs_identical():
    slices = days(6) + days(3, SearchType.IMAGE)
    sequential = collect(make_fetcher(FakeClient(), max_concurrency=1), slices)
    concurrent = collect(make_fetcher(FakeClient(), max_concurrency=8), slices)
    assert [day for day, _ in sequential] == slices
    # Concurrent days come in completion order (usually, not always, the input order).
    assert sorted((day for day, _ in concurrent), key=slices.index) == slices
    as_rows = {day: {n: d.rows for n, d in result.items()} for day, result in sequential}
    assert as_rows == {day: {n: d.rows for n, d in result.items()} for day, result in concurrent}


def test_fetcher_orders_retries_by_due_time_not_fifo():
    client = FakeClient(
        errors={
            (0, "site", 0): [ServerError("boom", retry_after_seconds=10.0)],
            (0, "page", 0): [ServerError("boom", retry_after_seconds=2.0)],
        },
        sizes={"site": 1, "page": 1, "page_query": 1},
    )
    fetcher = make_fetcher(client, max_concurrency=1)
    collect(fetcher, days(1), (SITE_REPORT, PAGE_REPORT))
    assert client.calls == [(0, "site", 0), (0, "page", 0), (0, "page", 0), (0, "site", 0)]
    assert fetcher.stats.retries == 2


def test_a_unit_retried_after_a_transport_error_returns_its_rows_exactly_once():
    client = FakeClient(errors={(0, "page", 10): [TransportError("reset")]})
    result = collect(make_fetcher(client), days(1), (PAGE_REPORT,))[0][1]["page"]
    assert [row[-4] for row in result.rows] == [float(i) for i in range(25)]
    assert (result.requests, result.retries, result.pages) == (4, 1, 3)


def test_a_token_rejected_once_is_retried_at_once_and_twice_is_an_authentication_error():
    once = FakeClient(errors={(0, "site", 0): [TokenRejectedError("401")]})
    fetcher = make_fetcher(once)
    collect(fetcher, days(1), (SITE_REPORT,))
    assert fetcher.stats.token_refreshes == 1
    twice = FakeClient(errors={(0, "site", 0): [TokenRejectedError("401")] * 2})
    with pytest.raises(AuthenticationError, match="rejected again"):
        collect(make_fetcher(twice), days(1), (SITE_REPORT,))


def test_exhausted_retries_raise_a_permanent_error_naming_the_unit():
    client = FakeClient(errors={(1, "page", 0): [ServerError("503 backend")] * 3})
    fetcher = make_fetcher(client, retry_policy=RetryPolicy(3, 0.001, 0.01))
    with pytest.raises(RetriesExhaustedError, match=r"'page'.*2025-01-02.*3 attempts") as info:
        collect(fetcher, days(3), (PAGE_REPORT,))
    assert isinstance(info.value.__cause__, ServerError)


def test_rate_limits_throttle_the_site_and_load_quota_pauses_it():
    clock = FakeClock()
    client = FakeClient(
        errors={
            (0, "site", 0): [RateLimitedError("429")],
            (1, "site", 0): [LoadQuotaError("load")],
        }
    )
    fetcher = make_fetcher(client, clock=clock, max_concurrency=1)
    store = fetcher._limiter.store
    started = clock.time()
    results = collect(fetcher, days(2), (SITE_REPORT,))
    assert len(results) == 2
    assert [reports["site"].throttled for _, reports in results] == [1, 0]
    assert fetcher.stats.throttled == 1
    assert fetcher.stats.load_quota_pauses == 1
    assert store.get_factor("site:" + SITE) < 1.0
    assert store.paused_until("site:" + SITE) >= started + 900.0
    assert clock.time() >= started + 900.0  # the retry waited out the pause


def test_pending_days_are_bounded_so_memory_stays_flat():
    received = [0]
    violations = []
    pending_limit = 3

    def check(key):
        if key[0] >= received[0] + pending_limit:
            violations.append((key, received[0]))

    client = FakeClient(hook=check)
    fetcher = make_fetcher(client, max_concurrency=4, max_pending_days=pending_limit)
    try:
        for _day, _result in fetcher.iter_days(days(20), CORE_REPORTS, DataState.FINAL):
            received[0] += 1
            time.sleep(0.005)  # a slow consumer: unbounded workers would run ahead
    finally:
        fetcher.close()
    assert received[0] == 20
    assert violations == []
    assert max(c[0] for c in client.calls) == 19
    assert fetcher.stats.peak_queue_depth <= pending_limit * len(CORE_REPORTS)


def blocking_client(release, fail_at, fail_with=None, blocked_before_fail=7):
    """Every call blocks until `release` is set, except day `fail_at`, which raises."""
    started = threading.Semaphore(0)
    raised_at = []

    def hook(key):
        if key[0] != fail_at:
            started.release()
            release.wait(30)
            return
        if fail_with is not None:
            for _ in range(blocked_before_fail):
                started.acquire(timeout=10)
            raised_at.append(time.monotonic())

    errors = {(fail_at, "site", 0): [fail_with]} if fail_with is not None else {}
    return FakeClient(errors=errors, hook=hook), started, raised_at


def test_fetcher_halts_every_worker_within_one_second_on_a_permanent_error():
    release = threading.Event()
    client, _, raised_at = blocking_client(release, 7, PermissionDeniedError("no permission"))
    fetcher = make_fetcher(client, max_concurrency=8, max_pending_days=10)
    try:
        with pytest.raises(PermissionDeniedError):
            list(fetcher.iter_days(days(10), (SITE_REPORT,), DataState.FINAL))
        caught_at = time.monotonic()
        assert caught_at - raised_at[0] < 1.0
        calls_at_halt = len(client.calls)
        assert calls_at_halt == 8  # days 8 and 9 never started
        release.set()
        time.sleep(0.2)
        assert len(client.calls) == calls_at_halt
        with pytest.raises(PermissionDeniedError):
            fetcher.fetch_day(days(1)[0], (SITE_REPORT,), DataState.FINAL)
    finally:
        release.set()
        fetcher.close()


def test_cancel_event_halts_a_fetch_blocked_in_slow_calls():
    release, cancel = threading.Event(), threading.Event()
    client, started, _ = blocking_client(release, fail_at=-1)
    fetcher = make_fetcher(client, max_concurrency=8, max_pending_days=10, cancel_event=cancel)
    outcome = {}

    def consume():
        try:
            list(fetcher.iter_days(days(10), (SITE_REPORT,), DataState.FINAL))
        except FetchCancelledError as exc:
            outcome["error"], outcome["at"] = exc, time.monotonic()

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        for _ in range(8):
            assert started.acquire(timeout=10)
        cancelled_at = time.monotonic()
        cancel.set()
        consumer.join(5)
        assert "error" in outcome
        assert outcome["at"] - cancelled_at < 1.0
        release.set()
        time.sleep(0.2)
        assert len(client.calls) == 8
    finally:
        release.set()
        fetcher.close()


def test_progress_reports_days_requests_and_qpm():
    lines = []
    fetcher = make_fetcher(FakeClient(), progress=lines.append, progress_interval_seconds=0.0)
    collect(fetcher, days(3), (PAGE_QUERY_REPORT,))
    assert lines[-1].startswith("fetched 3/3 ranges, 9 requests, 0 retries")
    assert "QPM" in lines[-1]


# --- over real HTTP, against the simulator ---------------------------------------------------


def http_fetcher(sim, *, budget=960, window=60.0, safety=1.0, **kwargs):
    from gsc_assets.search_console.client import SearchConsoleClient
    from gsc_assets.search_console.credentials import load_token_provider

    tokens = load_token_provider(access_token="sim-token", credentials_file=None)
    client = SearchConsoleClient(sim.base_url, tokens, timeout_seconds=10.0)
    limiter = QuotaLimiter(
        InMemoryQuotaStore(), budget_qpm=budget, window_seconds=window, safety_seconds=safety
    )
    kwargs.setdefault("retry_policy", RetryPolicy(base_delay_seconds=0.01, max_delay_seconds=0.2))
    fetcher = PartitionFetcher(client, limiter, credential_id=tokens.identity, **kwargs)
    return fetcher, client


def recent_days(sim, count, site):
    last_final = sim.today() - dt.timedelta(days=5)
    return [DaySlice(site, last_final - dt.timedelta(days=i)) for i in range(count)]


def assert_matches_simulator(sim, results):
    for day, reports in results:
        for name, data in reports.items():
            report = data.report
            expected = sim.expected_rows(
                day.site_url,
                day.date,
                day.search_type.value,
                [d.value for d in report.request_dimensions],
                report.aggregation_type.value,
            )
            assert data.rows == expected, (day, name)


def test_fetcher_over_http_returns_exactly_what_the_api_serves(make_simulator):
    sim = make_simulator()
    site = sim.sites[1]
    fetcher, client = http_fetcher(sim, max_concurrency=8)
    try:
        results = list(fetcher.iter_days(recent_days(sim, 3, site), CORE_REPORTS, DataState.FINAL))
    finally:
        fetcher.close()
        client.close()
    assert_matches_simulator(sim, results)
    assert fetcher.stats.rows == sum(len(d.rows) for _, r in results for d in r.values())


def test_fetcher_over_http_survives_server_errors_and_dropped_connections(make_simulator):
    sim = make_simulator(error_rate=0.15, drop_rate=0.05, seed=3)
    site = sim.sites[1]
    fetcher, client = http_fetcher(sim, max_concurrency=8)
    try:
        results = list(fetcher.iter_days(recent_days(sim, 4, site), CORE_REPORTS, DataState.FINAL))
    finally:
        fetcher.close()
        client.close()
    assert_matches_simulator(sim, results)
    assert fetcher.stats.retries > 0


def test_fetcher_over_http_never_exceeds_the_servers_quota(make_simulator):
    # A tiny window makes the quota bite within seconds: 15 per 2 s per site and per user. The
    # safety margin is production's 1 s: it must cover the delay between our admission and the
    # server's receipt, which on a loaded 2-core CI machine exceeded 0.3 s (one 429 seen).
    sim = make_simulator(qpm_per_site=15, qpm_per_user=15, quota_window_seconds=2.0)
    site = sim.sites[1]
    fetcher, client = http_fetcher(sim, budget=15, window=2.0, safety=1.0, max_concurrency=8)
    try:
        results = list(fetcher.iter_days(recent_days(sim, 14, site), CORE_REPORTS, DataState.FINAL))
    finally:
        fetcher.close()
        client.close()
    stats = sim.stats()
    assert stats["accepted_query_requests"] >= 3 * 14
    assert "429" not in stats["requests_by_status"], stats["requests_by_status"]
    assert fetcher.stats.throttled == 0
    assert_matches_simulator(sim, results)


# --- re-queued units replace; memory stays bounded over many partitions ----------------------


def test_a_unit_answered_twice_replaces_its_page_and_opens_the_next_page_once():
    from gsc_assets.search_console.day_jobs import RangeJob, WorkUnit

    job = RangeJob(one_day(PAGE_REPORT, days(1)[0]), DataState.FINAL)
    client = FakeClient(sizes={"page": 15})
    first = WorkUnit(job.plan, 0)
    page = client.query(job.request(first, ROW_LIMIT))
    assert job.accept(first, page, ROW_LIMIT) == WorkUnit(job.plan, 10)
    assert job.accept(first, page, ROW_LIMIT) is None  # the same unit again: no second page 2
    second = WorkUnit(job.plan, 10)
    assert job.accept(second, client.query(job.request(second, ROW_LIMIT)), ROW_LIMIT) is None
    assert job.done
    result = job.result()[START]
    assert [row[-4] for row in result.rows] == [float(i) for i in range(15)]
    assert result.pages == 2


def test_a_late_answer_of_a_requeued_unit_replaces_rather_than_appends():
    """Timeout-then-success where the timed-out request's answer also arrives, late.

    Attempt 1 of page 0 is slow; the unit is re-queued as attempt 2, which answers first;
    then attempt 1's answer arrives. Both are settled by the same runner code the workers use.
    An append design would return page 0's rows twice (and queue page 2 twice).
    """
    import random

    from gsc_assets.search_console.day_jobs import RangeJob, WorkUnit
    from gsc_assets.search_console.runner import RequestRunner
    from gsc_assets.search_console.telemetry import FetchStats
    from gsc_assets.search_console.work_queue import Task, WorkQueue

    clock, lock = FakeClock(), threading.Lock()
    stats = FetchStats(clock=clock)
    queue = WorkQueue(lock, clock, stats)
    client = FakeClient(sizes={"page": 15})
    runner = RequestRunner(
        client,
        QuotaLimiter(InMemoryQuotaStore(), budget_qpm=100_000, clock=clock),
        credential_id="sa@x",
        retry_policy=RetryPolicy(),
        row_limit=ROW_LIMIT,
        clock=clock,
        rng=random.Random(1),
        lock=lock,
        queue=queue,
        stats=stats,
        halt=threading.Event(),
        day_done=threading.Condition(lock),
        check_cancel=lambda: None,
    )
    job = RangeJob(one_day(PAGE_REPORT, days(1)[0]), DataState.FINAL)
    unit = WorkUnit(job.plan, 0)
    runner.run(Task(job, unit, attempt=2))  # the retry answers first ...
    runner.run(Task(job, unit, attempt=1))  # ... then the timed-out attempt's late answer
    assert client.calls == [(0, "page", 0), (0, "page", 0)]
    assert len(queue) == 1  # page 2 was queued once, not once per answer
    with lock:
        next_task = queue.get()  # due now: returns at once
    assert next_task is not None and next_task.unit.start_row == ROW_LIMIT
    runner.run(next_task)
    assert job.done
    result = job.result()[START]
    assert [row[-4] for row in result.rows] == [float(i) for i in range(15)]
    assert (result.pages, result.requests) == (2, 3)
    assert stats.rows == 25  # every answer's rows were received; only one copy is kept


def test_two_hundred_days_with_a_slow_consumer_never_buffer_more_than_the_bound(monkeypatch):
    """Counts live RangeJob objects and rows fetched-but-not-consumed, not RSS."""
    import weakref

    import gsc_assets.search_console.fetcher as fetcher_module
    from gsc_assets.search_console.day_jobs import RangeJob

    live = weakref.WeakSet()

    class CountedJob(RangeJob):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            live.add(self)

    monkeypatch.setattr(fetcher_module, "RangeJob", CountedJob)
    pending_limit, total_days = 4, 200
    sizes = {"site": 1, "page": 25, "page_query": 20}
    max_rows_per_day = sum(sizes.values()) + 3 * 2  # FakeClient adds day index % 3 per report
    fetched_rows, consumed_rows = [0], [0]
    peaks = {"jobs": 0, "rows": 0}

    client = FakeClient(sizes=sizes)
    original = client.query

    def counting_query(request):
        page = original(request)
        with client.lock:
            fetched_rows[0] += len(page.rows)
            peaks["rows"] = max(peaks["rows"], fetched_rows[0] - consumed_rows[0])
        return page

    client.query = counting_query
    fetcher = make_fetcher(client, max_concurrency=8, max_pending_days=pending_limit)
    delivered = 0
    try:
        for _day, result in fetcher.iter_days(days(total_days), CORE_REPORTS, DataState.FINAL):
            peaks["jobs"] = max(peaks["jobs"], len(live))
            time.sleep(0.002)  # a slow consumer: unbounded workers would run far ahead
            with client.lock:
                consumed_rows[0] += sum(len(data.rows) for data in result.values())
            delivered += 1
            del result
    finally:
        fetcher.close()
    assert delivered == total_days
    assert fetched_rows[0] == consumed_rows[0]
    # The pending days plus the one just handed over (still referenced by the generator).
    assert 1 < peaks["jobs"] <= pending_limit + 1
    assert peaks["rows"] <= (pending_limit + 1) * max_rows_per_day


def test_big_days_are_bounded_by_rows_not_only_by_days():
    """Days of 25-27 rows, room for 60 rows: about two days pending, not max_pending_days=10."""
    pending_rows_limit, total_days = 60, 30
    client = FakeClient(sizes={"page": 25})
    original = client.query
    fetched, consumed, peak, steady_peak, delivered = [0], [0], [0], [0], [0]

    def counting_query(request):
        page = original(request)
        with client.lock:
            fetched[0] += len(page.rows)
            peak[0] = max(peak[0], fetched[0] - consumed[0])
            if delivered[0] >= 8:  # well after the first delivery taught the day size
                steady_peak[0] = max(steady_peak[0], fetched[0] - consumed[0])
        return page

    client.query = counting_query
    fetcher = make_fetcher(
        client, max_concurrency=8, max_pending_days=10, max_pending_rows=pending_rows_limit
    )
    try:
        for _day, result in fetcher.iter_days(days(total_days), (PAGE_REPORT,), DataState.FINAL):
            time.sleep(0.002)  # a slow consumer
            with client.lock:
                consumed[0] += len(result["page"].rows)
                delivered[0] += 1
    finally:
        fetcher.close()
    assert delivered[0] == total_days and fetched[0] == consumed[0]
    # Before the first day is delivered a day is expected to fill one page (10 rows), so up
    # to 6 days may start (<= 6 x 27 rows); after that the largest day (27) sets the pace:
    # two pending days (2 x 27 + 27 > 60 stops a third), plus the day being consumed. A bound
    # by days alone would let 10 days (270 rows) pile up behind the slow consumer.
    assert peak[0] <= 6 * 27
    assert 0 < steady_peak[0] <= 3 * 27
    assert fetcher.stats.peak_queue_depth <= 6
