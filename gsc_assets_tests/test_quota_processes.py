"""Several processes x several threads share one budget through the SQL quota store.

End to end over HTTP: each spawned process runs a `PartitionFetcher` (4 worker threads) whose
limiter uses `SqlQuotaStore` on a shared SQLite file or on Postgres; all of them query the
same site of one simulator, whose quota window is shrunk to 3 s so the budget binds within
seconds. The simulator is the judge: it records when it received every admitted query, and
`max_accepted_in_any_quota_window` is the exact most it saw in any window. Processes with
private (in-memory) stores would each spend the whole budget and this test would fail.

No margin is assumed between admission and receipt: every other request waits
`ADMISSION_TO_SEND_DELAY` seconds after its admission before it is sent (longer than the old
limiter's 1 s margin, most of the shrunken window), and the limiter has no safety margin. It
holds because each admission counts from its answer (rate_limiter: settle).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import multiprocessing
import random
import time

import sqlalchemy as sa

from gsc_assets.reports.catalogue import SITE_REPORT
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState
from gsc_assets.warehouse.quota_store import SqlQuotaStore

PROCESSES = 3
THREADS = 4
DAYS_PER_PROCESS = 8  # the site report is one request per day
BUDGET = 8  # admissions per window, for the site and for the (shared) credential
WINDOW_SECONDS = 3.0
SAFETY_SECONDS = 0.0  # settling at the answer needs no margin for transit
ADMISSION_TO_SEND_DELAY = 2.5  # the old limiter assumed at most its 1 s safety margin


class DelayedClient:
    """Sends every other request (seeded draw) `ADMISSION_TO_SEND_DELAY` s after admission:
    a slow network, proxy or scheduler between our admission and Google's receipt."""

    def __init__(self, client, seed: int) -> None:
        self._client, self._rng = client, random.Random(seed)
        self.delayed = 0

    def query(self, request):
        if self._rng.random() < 0.5:  # one C call: safe across the worker threads
            self.delayed += 1
            time.sleep(ADMISSION_TO_SEND_DELAY)
        return self._client.query(request)


def _fetch_in_a_process(
    url: str, base_url: str, site: str, dates: list[dt.date], seed: int
) -> dict[str, float]:
    """Run in a spawned process: fetch `dates` with THREADS workers under the shared budget."""
    from gsc_assets.search_console.client import SearchConsoleClient
    from gsc_assets.search_console.credentials import load_token_provider
    from gsc_assets.search_console.fetcher import PartitionFetcher
    from gsc_assets.search_console.rate_limiter import QuotaLimiter
    from gsc_assets.search_console.retry import RetryPolicy

    engine = sa.create_engine(url)
    tokens = load_token_provider(access_token="sim-token", credentials_file=None)
    client = SearchConsoleClient(base_url, tokens, timeout_seconds=10.0)
    limiter = QuotaLimiter(
        SqlQuotaStore(engine),
        budget_qpm=BUDGET,
        window_seconds=WINDOW_SECONDS,
        safety_seconds=SAFETY_SECONDS,
    )
    delayed = DelayedClient(client, seed)
    fetcher = PartitionFetcher(
        delayed,
        limiter,
        credential_id=tokens.identity,
        max_concurrency=THREADS,
        retry_policy=RetryPolicy(base_delay_seconds=0.05, max_delay_seconds=0.5),
    )
    try:
        days = [DaySlice(site, date) for date in dates]
        results = list(fetcher.iter_days(days, (SITE_REPORT,), DataState.FINAL))
    finally:
        fetcher.close()
        client.close()
        engine.dispose()
    return {
        "days": len(results),
        "requests": fetcher.stats.requests,
        "throttled": fetcher.stats.throttled,
        "peak_in_flight": fetcher.stats.peak_in_flight,
        "limiter_wait_seconds": fetcher.stats.limiter_wait_seconds,
        "delayed": delayed.delayed,
    }


def test_processes_and_threads_never_exceed_the_budget_at_the_server(warehouse_url, make_simulator):
    sim = make_simulator(
        qpm_per_site=BUDGET,
        qpm_per_user=BUDGET,
        quota_window_seconds=WINDOW_SECONDS,
        latency_median_ms=200.0,  # answers take time, so a process's threads overlap
    )
    site = sim.sites[1]
    engine = sa.create_engine(warehouse_url)
    SqlQuotaStore(engine).dispose()  # create the tables once, before the race
    engine.dispose()
    last_final = sim.today() - dt.timedelta(days=5)
    dates = [last_final - dt.timedelta(days=i) for i in range(PROCESSES * DAYS_PER_PROCESS)]
    shares = [dates[i::PROCESSES] for i in range(PROCESSES)]

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        outcomes = list(
            pool.map(
                _fetch_in_a_process,
                [warehouse_url] * PROCESSES,
                [sim.base_url] * PROCESSES,
                [site] * PROCESSES,
                shares,
                range(PROCESSES),
            )
        )

    stats = sim.stats()
    assert stats["quota_window_seconds"] == WINDOW_SECONDS
    assert [o["days"] for o in outcomes] == [DAYS_PER_PROCESS] * PROCESSES
    assert sum(o["requests"] for o in outcomes) == PROCESSES * DAYS_PER_PROCESS
    assert all(o["peak_in_flight"] > 1 for o in outcomes)  # threads really ran in parallel
    assert stats["accepted_query_requests"] == PROCESSES * DAYS_PER_PROCESS
    assert "429" not in stats["requests_by_status"], stats["requests_by_status"]
    assert sum(o["throttled"] for o in outcomes) == 0
    # Never over the budget in any window the server could measure, and the budget did bind
    # (24 requests, 8 per window: the first window was filled).
    assert stats["max_accepted_in_any_quota_window"] == BUDGET
    assert sum(o["limiter_wait_seconds"] for o in outcomes) > 0
    assert sum(o["delayed"] for o in outcomes) >= PROCESSES * DAYS_PER_PROCESS // 4
