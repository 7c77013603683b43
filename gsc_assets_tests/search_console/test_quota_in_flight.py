"""Contract: the quota holds whatever the network does.

Google receives a request at an unknown time between its admission and its answer. The
limiter counts each request from its answer (settle), and an unanswered one until its lease
ends, so for ANY receipt times in those intervals no window of `window_seconds` receives more
than the budget. FakeClock and a discrete-event simulation: exact, no wall clock.
"""

import random

import pytest

from gsc_assets.search_console.quota_log import (
    IN_FLIGHT_POLL_SECONDS,
    InMemoryQuotaStore,
    wait_for_bucket,
)
from gsc_assets.search_console.rate_limiter import QuotaLimiter
from gsc_assets.simulator.stats import max_in_window

SITE = "https://a.example/"


def make_limiter(clock, budget, **kwargs):
    return QuotaLimiter(InMemoryQuotaStore(), budget_qpm=budget, clock=clock, **kwargs)


def test_a_request_answered_after_the_window_keeps_its_slot_until_then(fake_clock):
    limiter = make_limiter(fake_clock, budget=1)
    start = fake_clock.time()
    slow = limiter.acquire(SITE, "u")
    fake_clock.advance(100.0)  # no answer for 100 s: Google may receive it only now
    assert limiter.store.try_admit([("site:" + SITE, 1)], fake_clock.time(), 60.0).wait > 0
    limiter.settle(slow)
    limiter.settle(limiter.acquire(SITE, "u"))
    assert fake_clock.time() == pytest.approx(start + 160.0)  # 60 s after the answer


def test_the_window_counts_from_the_answer_not_from_the_admission(fake_clock):
    limiter = make_limiter(fake_clock, budget=2)
    start = fake_clock.time()
    first, second = limiter.acquire(SITE, "u"), limiter.acquire(SITE, "u")
    fake_clock.advance(5.0)
    limiter.settle(first)
    limiter.settle(second)
    assert limiter.acquire(SITE, "u").waited == pytest.approx(60.0)
    assert fake_clock.time() == pytest.approx(start + 65.0)


def test_an_admission_never_settled_counts_until_its_lease_ends(fake_clock):
    # A crashed process never settles: its requests stop counting lease + window later.
    limiter = make_limiter(fake_clock, budget=1, lease_seconds=30.0)
    start = fake_clock.time()
    limiter.acquire(SITE, "u")
    limiter.settle(limiter.acquire(SITE, "u"))
    assert fake_clock.time() == pytest.approx(start + 90.0)
    # While the blocking entry was in flight the waiter looked again every poll interval.
    assert set(fake_clock.sleeps[:-1]) == {IN_FLIGHT_POLL_SECONDS}


def test_a_waiter_looks_again_soon_while_the_blocking_request_is_in_flight():
    assert wait_for_bucket([400.0], 1, 100.0, 60.0) == IN_FLIGHT_POLL_SECONDS
    assert wait_for_bucket([90.0], 1, 100.0, 60.0) == pytest.approx(50.0)


# --- any receipt time in [admission, answer]: a discrete-event simulation ------------------

BUDGET, WINDOW, LEASE = 10, 60.0, 300.0
LATENCIES = (0.05, 0.3, 2.0, 15.0, 90.0)  # some answers come after a whole window


def simulate(*, settle: bool, seed: int, requests: int = 300) -> list[float]:
    """Admit `requests` as fast as the store allows; return the instants Google received them.

    Each request's receipt is drawn anywhere in [admission, answer], the extremes included.
    `settle=False` is the old limiter: admissions stamped at admission, never re-stamped.
    """
    rng = random.Random(seed)
    store = InMemoryQuotaStore()
    buckets = [("site:a", BUDGET), ("user:u", BUDGET)]
    now, in_flight, receipts = 0.0, [], []
    while len(receipts) < requests:
        for answer, stamp in [f for f in in_flight if f[0] <= now]:
            in_flight.remove((answer, stamp))
            if settle:
                store.settle(["site:a", "user:u"], stamp, answer)
        result = store.try_admit(buckets, now, WINDOW, LEASE if settle else 0.0)
        if result.stamp is None:
            now = min([now + result.wait] + [answer for answer, _ in in_flight])
            continue
        answer = now + rng.choice(LATENCIES)
        receipts.append(rng.choice([now, answer, rng.uniform(now, answer)]))
        in_flight.append((answer, result.stamp))
        now += rng.choice([0.0, 0.0, 0.1, 1.0])
    return receipts


@pytest.mark.parametrize("seed", range(5))
def test_no_window_at_google_exceeds_the_budget_for_any_receipt_time(seed):
    receipts = simulate(settle=True, seed=seed)
    assert max_in_window(receipts, WINDOW) <= BUDGET


def test_the_old_admission_stamps_exceed_the_budget_in_the_same_simulation():
    # The check above has teeth: without settling, late receipts pile into later windows.
    assert max(max_in_window(simulate(settle=False, seed=s), WINDOW) for s in range(5)) > BUDGET
