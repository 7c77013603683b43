"""Contract: truncated exponential backoff with full jitter; Retry-After is a floor; pure."""

import random

import pytest

from gsc_assets.search_console.retry import RetryPolicy, backoff_delay


def test_backoff_delay_stays_within_the_doubling_cap():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=64.0)
    rng = random.Random(1)
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (7, 64.0), (8, 64.0), (200, 64.0)]:
        delays = [backoff_delay(attempt, None, policy, rng) for _ in range(500)]
        assert all(0.0 <= d <= cap for d in delays)
        # Full jitter: the draws spread over the whole interval, not just near the cap.
        assert min(delays) < cap * 0.1
        assert max(delays) > cap * 0.9


def test_backoff_delay_honours_retry_after_as_a_floor():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=4.0)
    rng = random.Random(2)
    assert all(backoff_delay(1, 30.0, policy, rng) == 30.0 for _ in range(100))
    delays = [backoff_delay(3, 2.0, policy, rng) for _ in range(500)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert max(delays) > 3.5


def test_backoff_delay_is_pure_given_the_rng():
    policy = RetryPolicy()
    first = [backoff_delay(a, None, policy, random.Random(7)) for a in range(1, 9)]
    second = [backoff_delay(a, None, policy, random.Random(7)) for a in range(1, 9)]
    assert first == second


def test_backoff_delay_rejects_attempt_zero():
    with pytest.raises(ValueError, match="attempt counts from 1"):
        backoff_delay(0, None, RetryPolicy(), random.Random(0))


def test_retry_policy_defaults_and_validation():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.base_delay_seconds, policy.max_delay_seconds) == (
        8,
        1.0,
        64.0,
    )
    assert policy.load_quota_cooloff_seconds == 900.0
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_seconds=10.0, max_delay_seconds=1.0)
