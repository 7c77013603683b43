"""Where admissions live: the `QuotaStore` protocol and its in-process implementation.

A store keeps one sliding-window log per bucket (a site, a credential). Each entry is the
LATEST time Google can have received the request it admitted, so counting entries newer than
`now - window` never misses a request Google still counts:
- at admission the entry is provisional, `now + lease_seconds`: the request may be in flight
  until then (a crashed process never settles it, and its entry still expires);
- when the answer arrives the limiter settles it at the answer's time: Google received the
  request somewhere between admission and answer, whatever the network did in between.
`InMemoryQuotaStore` serves the threads of one process; `warehouse.quota_store.SqlQuotaStore`
shares the same log across processes and machines. `QuotaLimiter` (rate_limiter.py) decides
which buckets a request needs and what their limits are.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import NamedTuple, Protocol

# While the admission that must leave the window is still in flight its entry says only "no
# later than the lease"; it usually settles far sooner, so waiters look again this often.
IN_FLIGHT_POLL_SECONDS = 0.25


class Admit(NamedTuple):
    """A store's answer: admitted (wait 0.0, `stamp` recorded in every bucket) or wait."""

    wait: float
    stamp: float | None = None


class QuotaStore(Protocol):
    """Where admissions, pauses and throttle factors live; shared by everyone using a budget."""

    def try_admit(
        self,
        buckets: Sequence[tuple[str, int]],
        now: float,
        window_seconds: float,
        lease_seconds: float = 0.0,
    ) -> Admit:
        """Atomically admit into every (bucket, limit) or none.

        If each bucket has fewer than `limit` entries newer than `now - window`, record the
        entry `now + lease_seconds` in each and return Admit(0.0, that stamp); otherwise record
        nothing and return Admit(seconds until enough entries leave the window (> 0)). A store
        with its own clock (SQL) uses it instead of `now`; the stamp is in that clock.
        """
        ...

    def settle(self, buckets: Sequence[str], stamp: float, now: float) -> None:
        """Re-stamp one entry recorded at `stamp` in each bucket to `now` (the answer's time).

        An entry already pruned is not re-created. A store with its own clock uses it.
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
    them, times[n - limit], leaves the window (t > now - window) at t + window. If that entry
    is still provisional (after `now`: its request is in flight), look again soon instead.
    """
    if len(times) < limit:
        return 0.0
    needed = times[len(times) - limit]
    wait = max(needed + window - now, 1e-6)
    return min(wait, IN_FLIGHT_POLL_SECONDS) if needed > now else wait


class InMemoryQuotaStore:
    """A `QuotaStore` for the threads of one process (one run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admissions: dict[str, list[float]] = {}
        self._paused: dict[str, float] = {}
        self._factors: dict[str, float] = {}

    def try_admit(
        self,
        buckets: Sequence[tuple[str, int]],
        now: float,
        window_seconds: float,
        lease_seconds: float = 0.0,
    ) -> Admit:
        """See `QuotaStore.try_admit`."""
        with self._lock:
            wait = 0.0
            for bucket, limit in buckets:
                times = self._admissions.setdefault(bucket, [])
                # Drop what left the window: membership is t > now - window.
                del times[: bisect.bisect_right(times, now - window_seconds)]
                wait = max(wait, wait_for_bucket(times, limit, now, window_seconds))
            if wait > 0:
                return Admit(wait)
            stamp = now + lease_seconds
            for bucket, _ in buckets:
                bisect.insort(self._admissions[bucket], stamp)
            return Admit(0.0, stamp)

    def settle(self, buckets: Sequence[str], stamp: float, now: float) -> None:
        """See `QuotaStore.settle`."""
        with self._lock:
            for bucket in buckets:
                # Entries are bare times: any entry equal to `stamp` is as good as another.
                times = self._admissions.get(bucket, [])
                index = bisect.bisect_left(times, stamp)
                if index < len(times) and times[index] == stamp:
                    del times[index]
                    bisect.insort(times, now)

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
