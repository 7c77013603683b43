"""Where admissions live: the `QuotaStore` protocol and its in-process implementation.

A store keeps one sliding-window log of admission times per bucket (a site, a credential).
`InMemoryQuotaStore` serves the threads of one process; `warehouse.quota_store.SqlQuotaStore`
shares the same log across processes and machines. `QuotaLimiter` (rate_limiter.py) decides
which buckets a request needs and what their limits are.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import Protocol


class QuotaStore(Protocol):
    """Where admissions, pauses and throttle factors live; shared by everyone using a budget."""

    def try_admit(
        self, buckets: Sequence[tuple[str, int]], now: float, window_seconds: float
    ) -> float:
        """Atomically admit into every (bucket, limit) or none.

        If each bucket has fewer than `limit` admissions in (now - window, now], record one in
        each and return 0.0; otherwise record nothing and return the seconds until enough of
        the oldest admissions leave the window (> 0).
        """
        ...

    def pause(self, bucket: str, until: float) -> None:
        """Admit nothing for `bucket` before epoch time `until` (a later pause wins)."""
        ...

    def paused_until(self, bucket: str) -> float:
        """Epoch time before which `bucket` is paused (0.0 when not paused)."""
        ...

    def get_factor(self, bucket: str) -> float:
        """The adaptive throttle factor of `bucket` (1.0 by default)."""
        ...

    def set_factor(self, bucket: str, factor: float) -> None:
        """Store the adaptive throttle factor of `bucket`."""
        ...


def wait_for_bucket(times: Sequence[float], limit: int, now: float, window: float) -> float:
    """Seconds until `times` (sorted admissions still in the window) has room for one more.

    With n admissions and room for `limit`, the (n - limit + 1) oldest must leave; the last of
    them, times[n - limit], leaves the window (t > now - window) at t + window.
    """
    if len(times) < limit:
        return 0.0
    return max(times[len(times) - limit] + window - now, 1e-6)


class InMemoryQuotaStore:
    """A `QuotaStore` for the threads of one process (one run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admissions: dict[str, list[float]] = {}
        self._paused: dict[str, float] = {}
        self._factors: dict[str, float] = {}

    def try_admit(
        self, buckets: Sequence[tuple[str, int]], now: float, window_seconds: float
    ) -> float:
        """See `QuotaStore.try_admit`."""
        with self._lock:
            wait = 0.0
            for bucket, limit in buckets:
                times = self._admissions.setdefault(bucket, [])
                # Drop what left the window: membership is t > now - window.
                del times[: bisect.bisect_right(times, now - window_seconds)]
                wait = max(wait, wait_for_bucket(times, limit, now, window_seconds))
            if wait > 0:
                return wait
            for bucket, _ in buckets:
                bisect.insort(self._admissions[bucket], now)
            return 0.0

    def pause(self, bucket: str, until: float) -> None:
        """See `QuotaStore.pause`."""
        with self._lock:
            self._paused[bucket] = max(until, self._paused.get(bucket, 0.0))

    def paused_until(self, bucket: str) -> float:
        """See `QuotaStore.paused_until`."""
        with self._lock:
            return self._paused.get(bucket, 0.0)

    def get_factor(self, bucket: str) -> float:
        """See `QuotaStore.get_factor`."""
        with self._lock:
            return self._factors.get(bucket, 1.0)

    def set_factor(self, bucket: str, factor: float) -> None:
        """See `QuotaStore.set_factor`."""
        with self._lock:
            self._factors[bucket] = factor
