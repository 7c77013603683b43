"""Search Analytics quotas: per-site and per-user queries per minute, and the load quota.

QPM (docs/search_console_api.md "Quotas"): a request is admitted when, in the sliding window (now -
60 s, now],
fewer than the limit were admitted for its site AND for its user (credential identity). Only
admitted requests enter the windows: a rejected request costs nothing, as with Google. Time is
`time.monotonic()` read at request receipt.

The load quota is separate and is switched on by configuration (for the next N seconds or N
requests): it answers 403 "load quota exceeded", which a client must treat as "pause for minutes".
"""

from __future__ import annotations

import threading
from collections import deque


class QuotaWindows:
    """Sliding-window admission per bucket ("site:<url>", "user:<identity>")."""

    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def try_admit(
        self, buckets: list[tuple[str, int | None]], now: float, window_seconds: float
    ) -> str | None:
        """Admit into every bucket atomically; return the first full bucket's name, else None.

        A limit of None means "unlimited" (the bucket is still recorded).
        """
        with self._lock:
            queues = [
                (name, limit, self._admitted.setdefault(name, deque())) for name, limit in buckets
            ]
            for name, limit, queue in queues:
                while queue and queue[0] <= now - window_seconds:
                    queue.popleft()
                if limit is not None and len(queue) >= limit:
                    return name
            for _name, _limit, queue in queues:
                queue.append(now)
            return None

    def reset(self) -> None:
        """Forget every admission."""
        with self._lock:
            self._admitted.clear()


class LoadQuota:
    """While armed, query requests are answered with the load-quota 403."""

    def __init__(self) -> None:
        self._until = float("-inf")
        self._remaining = 0
        self._lock = threading.Lock()

    def arm(self, *, now: float, seconds: float | None = None, requests: int | None = None) -> None:
        """Trip the load quota for `seconds` from `now` and/or for the next `requests` queries."""
        with self._lock:
            if seconds is not None:
                self._until = now + seconds
            if requests is not None:
                self._remaining = requests

    def exceeded(self, now: float) -> bool:
        """True when this request must be refused (consumes one armed request)."""
        with self._lock:
            if now < self._until:
                return True
            if self._remaining > 0:
                self._remaining -= 1
                return True
            return False

    def reset(self) -> None:
        """Disarm."""
        with self._lock:
            self._until, self._remaining = float("-inf"), 0
