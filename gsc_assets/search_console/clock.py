"""Time, injected: production uses the system clock; tests drive a fake one exactly.

`monotonic()` measures intervals inside one process. `time()` is wall-clock epoch seconds,
the only clock comparable across processes and machines (used by shared quota stores).
"""

from __future__ import annotations

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
