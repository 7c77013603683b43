"""Contract: SqlQuotaStore is a QuotaStore shared through SQLite or PostgreSQL.

Every test runs on both backends. Admission into all buckets is atomic (a rejection records
nothing), the wait is exact, an in-flight (provisional) entry counts until it is settled at
its answer's time, and processes running threads against one database never let more than
the budget through in any sliding window (multi-process test, tiny window).
"""

import concurrent.futures
import multiprocessing
import threading
import time

import pytest
import sqlalchemy as sa

from gsc_assets.search_console.quota_log import IN_FLIGHT_POLL_SECONDS
from gsc_assets.search_console.rate_limiter import QuotaLimiter
from gsc_assets.warehouse.quota_store import SqlQuotaStore, admissions
from gsc_assets_tests.fakes import FakeClock

SITES = ("https://a.example/", "https://b.example/")


@pytest.fixture
def engine(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    store = SqlQuotaStore(engine, use_caller_time=True)
    yield store
    store.dispose()


def test_store_admits_exactly_the_limit_and_returns_the_exact_wait(store):
    buckets = [("site:a", 3), ("user:u", 10)]
    results = [store.try_admit(buckets, t, 60.0) for t in (100.0, 101.0, 102.0)]
    assert results == [(0.0, 100.0), (0.0, 101.0), (0.0, 102.0)]
    assert store.try_admit(buckets, 130.0, 60.0) == (pytest.approx(30.0), None)
    assert store.try_admit(buckets, 160.0, 60.0).wait == 0.0  # 100.0 has left (100, 160]


def test_store_rejection_by_one_bucket_records_in_no_bucket(store):
    assert store.try_admit([("site:a", 1), ("user:u", 5)], 100.0, 60.0).wait == 0.0
    assert store.try_admit([("site:a", 1), ("user:u", 5)], 101.0, 60.0).wait == pytest.approx(59)
    # The rejected attempt did not consume the user's budget: 4 more fit.
    waits = [store.try_admit([("site:b", 9), ("user:u", 5)], 102.0, 60.0).wait for _ in range(5)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(58.0)


def test_store_pause_keeps_the_latest_and_factor_defaults_to_one(store):
    assert store.paused_until("site:a") == 0.0
    assert store.get_factor("site:a") == 1.0
    store.pause("site:a", 500.0)
    store.pause("site:a", 400.0)
    assert store.paused_until("site:a") == 500.0
    store.set_factor("site:a", 0.5)
    store.set_factor("site:a", 0.25)
    assert store.get_factor("site:a") == 0.25
    assert store.get_factor("site:b") == 1.0


def test_store_tables_are_created_idempotently(engine, store):
    store.try_admit([("site:a", 1)], 1.0, 60.0)
    again = SqlQuotaStore(engine, use_caller_time=True)
    again.create_tables()
    assert again.try_admit([("site:a", 1)], 2.0, 60.0).wait == pytest.approx(59.0)
    again.dispose()


def test_store_uses_its_own_clock_not_the_callers_by_default(engine):
    store = SqlQuotaStore(engine)
    before = time.time()
    admitted = store.try_admit([("site:skewed", 5)], 0.0, 60.0, 300.0)  # a caller in the past
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(admissions.c.admitted_at)).scalar_one()
    assert recorded == admitted.stamp
    assert before + 295.0 < recorded < time.time() + 305.0  # its clock, plus the lease
    store.settle(["site:skewed"], admitted.stamp, 0.0)  # settled on its clock too
    with engine.connect() as conn:
        settled = conn.execute(sa.select(admissions.c.admitted_at)).scalar_one()
    assert before - 5.0 < settled < time.time() + 5.0
    store.dispose()


def in_bucket(engine, bucket):
    query = sa.select(admissions.c.admitted_at).where(admissions.c.bucket == bucket)
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def test_an_in_flight_entry_counts_until_settled_then_from_its_answer(engine, store):
    buckets = [("site:a", 1), ("user:u", 5)]
    admitted = store.try_admit(buckets, 100.0, 60.0, lease_seconds=300.0)
    assert admitted == (0.0, 400.0)
    # 100 s later the request is still unanswered: its slot is still taken, and the waiter is
    # told to look again soon (it may be answered any moment), not to sleep 360 s.
    assert store.try_admit(buckets, 200.0, 60.0) == (IN_FLIGHT_POLL_SECONDS, None)
    store.settle(["site:a", "user:u"], 400.0, 150.0)  # answered at 150
    assert in_bucket(engine, "site:a") == [150.0] and in_bucket(engine, "user:u") == [150.0]
    assert store.try_admit(buckets, 209.0, 60.0).wait == pytest.approx(1.0)
    assert store.try_admit(buckets, 210.0, 60.0).stamp == 210.0


def test_settle_restamps_exactly_one_of_equal_entries_per_bucket(engine, store):
    for _ in range(3):
        assert store.try_admit([("site:b", 5), ("user:u", 5)], 10.0, 60.0, 300.0).stamp == 310.0
    store.settle(["site:b", "user:u"], 310.0, 12.0)
    assert in_bucket(engine, "site:b") == [12.0, 310.0, 310.0]
    assert in_bucket(engine, "user:u") == [12.0, 310.0, 310.0]
    store.settle(["site:b", "user:u"], 999.0, 13.0)  # nothing recorded at 999: a no-op
    assert in_bucket(engine, "site:b") == [12.0, 310.0, 310.0]


def test_limiter_over_sql_store_is_exact_with_a_fake_clock(store):
    clock = FakeClock()
    limiter = QuotaLimiter(store, budget_qpm=4, clock=clock, safety_seconds=1.0)
    start = clock.time()
    for _ in range(4):
        limiter.settle(limiter.acquire(SITES[0], "u"))
    assert clock.time() == start
    limiter.settle(limiter.acquire(SITES[1], "u"))  # the credential's budget binds across sites
    assert clock.time() == pytest.approx(start + 61.0)
    limiter.on_throttled(SITES[0])
    assert store.get_factor("site:" + SITES[0]) == 0.5


# --- several processes, each with several threads, sharing one database -------------------

BUDGET, WINDOW, SAFETY = 20, 2.0, 0.3
PROCESSES, THREADS, PER_THREAD = 3, 3, 5


def admit_from_threads(url: str) -> list[float]:
    """Run in a spawned process: THREADS threads acquiring PER_THREAD admissions each."""
    engine = sa.create_engine(url)
    store = SqlQuotaStore(engine)
    limiter = QuotaLimiter(store, budget_qpm=BUDGET, window_seconds=WINDOW, safety_seconds=SAFETY)
    times: list[float] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for n in range(PER_THREAD):
            admission = limiter.acquire(SITES[(index + n) % 2], "shared-credential")
            with lock:
                times.append(time.time())
            limiter.settle(admission)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.dispose()
    engine.dispose()
    return times


def max_in_any_window(times, window):
    ordered = sorted(times)
    return max(
        len([u for u in ordered[i:] if u < t + window - 1e-9]) for i, t in enumerate(ordered)
    )


def test_processes_sharing_the_store_never_exceed_the_budget_in_any_window(warehouse_url, engine):
    SqlQuotaStore(engine).dispose()  # create the tables once, before the race
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        results = list(pool.map(admit_from_threads, [warehouse_url] * PROCESSES))
    seen_by_callers = [t for times in results for t in times]
    assert len(seen_by_callers) == PROCESSES * THREADS * PER_THREAD
    with engine.connect() as conn:
        query = sa.select(admissions.c.admitted_at).where(
            admissions.c.bucket == "user:shared-credential"
        )
        recorded = list(conn.execute(query).scalars())
    assert len(recorded) == len(seen_by_callers)
    # The store's log (settled stamps) is exact over the window it counts (WINDOW + SAFETY) ...
    assert max_in_any_window(recorded, WINDOW + SAFETY) == BUDGET
    # ... and what callers saw (between admission and settling) still fits the server's WINDOW.
    assert max_in_any_window(seen_by_callers, WINDOW) <= BUDGET
