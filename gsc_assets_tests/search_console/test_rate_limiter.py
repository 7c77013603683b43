"""Contract: a request is admitted only when it fits BOTH its site's and its credential's budget
in every sliding window of window_seconds + safety_seconds, counted from when its answer
arrived (an unanswered one counts until its lease ends); the N+1th waits exactly until the
oldest leaves; throttles and pauses apply at once. FakeClock: exact, no wall clock.
"""

import threading

import pytest

from gsc_assets.search_console.errors import FetchCancelledError
from gsc_assets.search_console.rate_limiter import (
    InMemoryQuotaStore,
    QuotaLimiter,
    wait_for_bucket,
)

SITE_A, SITE_B, SITE_C = "https://a.example/", "https://b.example/", "sc-domain:c.example"


def make_limiter(clock, budget=5, store=None, **kwargs):
    kwargs.setdefault("safety_seconds", 0.0)
    return QuotaLimiter(store or InMemoryQuotaStore(), budget_qpm=budget, clock=clock, **kwargs)


def admit(limiter, site=SITE_A, user="sa@x", cancel=None):
    """One request answered at once: acquire, then settle; the seconds it waited."""
    admission = limiter.acquire(site, user, cancel)
    limiter.settle(admission)
    return admission.waited


def admission_times(limiter, clock, count, site=SITE_A, user="sa@x"):
    times = []
    for _ in range(count):
        admit(limiter, site, user)
        times.append(clock.time())
    return times


def test_budget_n_admits_exactly_n_then_the_next_waits_until_the_oldest_expires(fake_clock):
    limiter = make_limiter(fake_clock, budget=5)
    start = fake_clock.time()
    times = admission_times(limiter, fake_clock, 5)
    assert times == [start] * 5
    assert fake_clock.sleeps == []
    fake_clock.advance(10.0)
    waited = admit(limiter)
    assert waited == pytest.approx(50.0)
    assert fake_clock.time() == pytest.approx(start + 60.0)


def test_safety_margin_widens_the_window(fake_clock):
    limiter = make_limiter(fake_clock, budget=2, safety_seconds=1.0)
    start = fake_clock.time()
    admission_times(limiter, fake_clock, 3)
    assert fake_clock.time() == pytest.approx(start + 61.0)


def test_no_sliding_window_ever_holds_more_than_the_budget(fake_clock):
    limiter = make_limiter(fake_clock, budget=7)
    times = []
    for i in range(60):
        fake_clock.advance((i * 7919) % 13 / 2)  # irregular arrivals
        admit(limiter)
        times.append(fake_clock.time())
    for i, t in enumerate(times):
        in_window = [u for u in times[i:] if u < t + 60.0 - 1e-9]
        assert len(in_window) <= 7


def test_the_credential_budget_caps_the_sum_of_its_sites(fake_clock):
    limiter = make_limiter(fake_clock, budget=6)
    start = fake_clock.time()
    for site in (SITE_A, SITE_B, SITE_C):
        admission_times(limiter, fake_clock, 2, site=site)
    assert fake_clock.time() == start
    admit(limiter, SITE_B)  # site B has room (2 of 6), the user has none
    assert fake_clock.time() == pytest.approx(start + 60.0)
    admit(limiter, SITE_A, "other@x")  # another credential is not affected
    assert fake_clock.time() == pytest.approx(start + 60.0)


def test_admission_needs_both_buckets_and_a_rejection_consumes_neither():
    store = InMemoryQuotaStore()
    buckets = [("site:a", 2), ("user:u", 3)]
    assert store.try_admit(buckets, 100.0, 60.0) == (0.0, 100.0)
    assert store.try_admit([("site:b", 10), ("user:u", 3)], 100.0, 60.0).wait == 0.0
    assert store.try_admit(buckets, 110.0, 60.0).wait == 0.0  # site a: 2 of 2, user: 3 of 3
    rejected = store.try_admit([("site:c", 5), ("user:u", 3)], 120.0, 60.0)
    assert rejected.wait == pytest.approx(40.0) and rejected.stamp is None
    # site c was rejected by the user bucket, so it recorded nothing: it still has 5 of 5.
    assert store.try_admit([("site:c", 5)], 120.0, 60.0).wait == 0.0
    assert store.try_admit([("site:a", 2), ("user:other", 3)], 120.0, 60.0).wait == (
        pytest.approx(40.0)
    )


def test_wait_accounts_for_several_admissions_at_one_instant():
    assert wait_for_bucket([1.0, 2.0, 2.0, 5.0], 3, 10.0, 60.0) == pytest.approx(52.0)
    assert wait_for_bucket([1.0, 2.0, 2.0, 5.0], 2, 10.0, 60.0) == pytest.approx(52.0)
    assert wait_for_bucket([1.0, 2.0], 3, 10.0, 60.0) == 0.0


def test_throttle_halves_the_site_budget_at_once_and_successes_restore_it(fake_clock):
    limiter = make_limiter(fake_clock, budget=100)
    limiter.on_throttled(SITE_A)
    assert limiter.site_limit(SITE_A) == 50
    assert limiter.store.get_factor("site:" + SITE_A) == 0.5  # shared with other processes
    limiter.on_throttled(SITE_A)  # an echo of the same burst: no second cut
    assert limiter.site_limit(SITE_A) == 50
    fake_clock.advance(2.0)
    limiter.on_throttled(SITE_A)
    assert limiter.site_limit(SITE_A) == 25
    for _ in range(4):
        fake_clock.advance(2.0)
        limiter.on_success(SITE_A)
    assert limiter.site_limit(SITE_A) == 45
    assert limiter.site_limit(SITE_B) == 100


def test_throttle_factor_has_a_floor(fake_clock):
    limiter = make_limiter(fake_clock, budget=60)
    for _ in range(10):
        fake_clock.advance(2.0)
        limiter.on_throttled(SITE_A)
    assert limiter.site_limit(SITE_A) == 6


def test_a_throttled_site_admits_its_reduced_budget_per_window(fake_clock):
    limiter = make_limiter(fake_clock, budget=10)
    limiter.on_throttled(SITE_A)
    start = fake_clock.time()
    admission_times(limiter, fake_clock, 5)
    assert fake_clock.time() == start
    admit(limiter)
    assert fake_clock.time() == pytest.approx(start + 60.0)


def test_another_process_sees_the_throttle_after_its_refresh_interval(fake_clock):
    store = InMemoryQuotaStore()
    mine, theirs = make_limiter(fake_clock, 100, store), make_limiter(fake_clock, 100, store)
    assert theirs.site_limit(SITE_A) == 100
    mine.on_throttled(SITE_A)
    fake_clock.advance(1.0)
    assert theirs.site_limit(SITE_A) == 50


def test_load_quota_pause_admits_nothing_until_the_cooloff_ends(fake_clock):
    store = InMemoryQuotaStore()
    limiter, other = make_limiter(fake_clock, 10, store), make_limiter(fake_clock, 10, store)
    start = fake_clock.time()
    limiter.on_load_quota(SITE_A, 900.0)
    admit(limiter)
    assert fake_clock.time() == pytest.approx(start + 900.0)
    limiter.on_load_quota(SITE_A, 900.0)
    admit(other, SITE_A, "other@x")  # the pause is in the store: other limiters obey it
    assert fake_clock.time() == pytest.approx(start + 1800.0)
    admit(limiter, SITE_B)
    assert fake_clock.time() == pytest.approx(start + 1800.0)


def test_acquire_raises_when_cancelled_while_waiting():
    limiter = QuotaLimiter(InMemoryQuotaStore(), budget_qpm=1, window_seconds=600.0)
    cancel = threading.Event()
    admit(limiter, SITE_A, "u", cancel)
    threading.Timer(0.05, cancel.set).start()
    with pytest.raises(FetchCancelledError):
        admit(limiter, SITE_A, "u", cancel)


class RecordingStore(InMemoryQuotaStore):
    """Records every admission instant, so tests can check every sliding window afterwards."""

    def __init__(self):
        super().__init__()
        self.admitted: list[float] = []

    def try_admit(self, buckets, now, window_seconds, lease_seconds=0.0):
        result = super().try_admit(buckets, now, window_seconds, lease_seconds)
        if result.stamp is not None:
            self.admitted.append(now)
        return result


def max_in_any_window(times, window):
    ordered = sorted(times)
    return max(
        len([u for u in ordered[i:] if u < t + window - 1e-9]) for i, t in enumerate(ordered)
    )


def test_threads_sharing_a_limiter_never_exceed_the_budget(fake_clock):
    store = RecordingStore()
    limiter = make_limiter(fake_clock, budget=3, store=store)

    def worker():
        for _ in range(5):
            admit(limiter, SITE_A, "u")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.admitted) == 20
    assert max_in_any_window(store.admitted, 60.0) == 3
