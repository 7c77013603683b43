"""Test doubles shared by the tests: a clock that moves only when told to."""

from __future__ import annotations

import threading


class FakeClock:
    """A clock that moves only when told to (`advance`) or when someone sleeps.

    `sleep` advances time instantly, so code that waits for a rate-limit window runs in
    microseconds and tests can assert exact admission times.
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """See `Clock.monotonic`."""
        with self._lock:
            return self._now

    def time(self) -> float:
        """See `Clock.time`."""
        return self.monotonic()

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance time by it."""
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._now += seconds
