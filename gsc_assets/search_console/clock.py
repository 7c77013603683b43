"""Time, injected: production uses the system clock, tests drive a FakeClock exactly.

`monotonic()` measures intervals inside one process. `time()` is wall-clock epoch seconds,
the only clock comparable across processes and machines (used by shared quota stores).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the limiter, backoff and fetcher need to know about time."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for `seconds`."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """See `Clock.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """See `Clock.time`."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """See `Clock.sleep`."""
        if seconds > 0:
            time.sleep(seconds)


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
