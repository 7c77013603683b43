"""What the simulator saw: requests by status, concurrency, rows, and admitted-query timing.

"Most admitted in any 60 s" is exact: a two-pointer sweep over the sorted receipt times counts,
for every admitted request, the admitted requests in the window (t - 60 s, t] ending at it, the
same window the quota uses. Benchmarks and tests use it to prove a client kept to its budget.
`max_accepted_in_any_quota_window` (and its by-site / by-user variants) counts the same way
over the configured `quota_window_seconds`, which tests shrink to seconds.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any


def max_in_window(times: Sequence[float], window_seconds: float = 60.0) -> int:
    """The largest number of `times` inside any half-open window (t - window, t]."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window_seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def per_minute(times: Sequence[float], origin: float) -> list[int]:
    """Counts per whole minute since `origin` (index 0 = the first minute)."""
    counts: list[int] = []
    for t in times:
        minute = max(0, int((t - origin) // 60.0))
        counts.extend([0] * (minute + 1 - len(counts)))
        counts[minute] += 1
    return counts


class StatsRecorder:
    """Thread-safe counters; `snapshot()` is the JSON served at /_sim/stats."""

    def __init__(self, clock_origin: float) -> None:
        self._lock = threading.Lock()
        self.reset(clock_origin)

    def reset(self, clock_origin: float) -> None:
        """Start counting afresh from `clock_origin` (a monotonic time)."""
        with self._lock:
            self._origin = clock_origin
            self._by_status: Counter[str] = Counter()
            self._requests = self._queries = self._tokens = self._rows = 0
            self._in_flight = self._peak = 0
            self._accepted: list[float] = []
            self._by_site: dict[str, list[float]] = defaultdict(list)
            self._by_user: dict[str, list[float]] = defaultdict(list)
            self._first_query_at: float | None = None
            self._last_answer_at: float | None = None

    def started(self, *, is_query: bool, is_token: bool) -> None:
        """A request arrived."""
        with self._lock:
            self._requests += 1
            self._queries += is_query
            self._tokens += is_token
            if is_query and self._first_query_at is None:
                self._first_query_at = time.time()
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)

    def finished(self, status: str, rows: int = 0) -> None:
        """A request was answered with `status` ("200", "429", ... or "dropped")."""
        with self._lock:
            self._in_flight -= 1
            self._by_status[status] += 1
            self._rows += rows
            self._last_answer_at = time.time()

    def accepted(self, site_url: str, identity: str, received_at: float) -> None:
        """A query passed the QPM quota at monotonic time `received_at`."""
        with self._lock:
            self._accepted.append(received_at)
            self._by_site[site_url].append(received_at)
            self._by_user[identity].append(received_at)

    def snapshot(self, quota_window_seconds: float = 60.0) -> dict[str, Any]:
        """All counters as plain JSON-able values; `quota_window_seconds` is the quota's window."""
        window = quota_window_seconds
        with self._lock:
            return {
                "quota_window_seconds": window,
                "max_accepted_in_any_quota_window": max_in_window(self._accepted, window),
                "max_accepted_in_any_quota_window_by_site": {
                    site: max_in_window(t, window) for site, t in sorted(self._by_site.items())
                },
                "max_accepted_in_any_quota_window_by_user": {
                    user: max_in_window(t, window) for user, t in sorted(self._by_user.items())
                },
                "requests_total": self._requests,
                "requests_by_status": dict(sorted(self._by_status.items())),
                "query_requests": self._queries,
                "token_requests": self._tokens,
                "accepted_query_requests": len(self._accepted),
                "peak_concurrency": self._peak,
                "max_accepted_in_any_60s": max_in_window(self._accepted),
                "max_accepted_in_any_60s_by_site": {
                    site: max_in_window(t) for site, t in sorted(self._by_site.items())
                },
                "max_accepted_in_any_60s_by_user": {
                    user: max_in_window(t) for user, t in sorted(self._by_user.items())
                },
                "accepted_per_minute": per_minute(self._accepted, self._origin),
                "rows_served": self._rows,
                # Wall-clock (epoch) seconds, comparable with another process's time.time():
                # a benchmark measures a client's start-up and wind-down around its requests.
                "first_query_received_at": self._first_query_at,
                "last_answer_ready_at": self._last_answer_at,
            }
