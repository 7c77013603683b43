"""When to try a failed request again: truncated exponential backoff with full jitter.

Google's guidance (docs/search_console_api.md "Errors"): retry 429 and 5xx with truncated
exponential backoff
and jitter; honour Retry-After when present (Google does not document it, proxies may send it).
Full jitter (delay drawn uniformly from [0, cap]) spreads the retries of many workers that failed
together, so they do not return to the server in one burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a work unit gets and how long to wait between them.

    `max_attempts` counts every attempt including the first. `load_quota_cooloff_seconds` is how
    long a site pauses after a load-quota error (Google says "wait 15 minutes").
    """

    max_attempts: int = 8
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 64.0
    load_quota_cooloff_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_seconds < 0 or self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError(
                "need 0 <= base_delay_seconds <= max_delay_seconds, got "
                f"{self.base_delay_seconds} and {self.max_delay_seconds}"
            )
        if self.load_quota_cooloff_seconds < 0:
            raise ValueError("load_quota_cooloff_seconds must be >= 0")


def backoff_delay(
    attempt: int, retry_after: float | None, policy: RetryPolicy, rng: random.Random
) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1 = the first try failed).

    cap = min(max_delay, base * 2**(attempt-1)); the jittered delay is uniform in [0, cap].
    A server's Retry-After is a floor: the result is max(retry_after, jittered). Pure: the
    only randomness comes from `rng`.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    # min() before the power would overflow for large attempts: cap the exponent first.
    exponent = min(attempt - 1, 62)
    cap = min(policy.max_delay_seconds, policy.base_delay_seconds * (2.0**exponent))
    jittered = rng.uniform(0.0, cap)
    if retry_after is not None and retry_after > 0:
        return max(retry_after, jittered)
    return jittered
