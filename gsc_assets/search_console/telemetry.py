"""What a fetch cost: counters, latency percentiles and achieved throughput.

`FetchStats` is recorded from many worker threads (every method takes one lock) and read by
the Dagster layer, which turns `as_metadata()` into materialization metadata: only int/float
values, so Dagster can plot them over time.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from gsc_assets.search_console.clock import Clock, SystemClock

# Latencies are kept in a fixed-size reservoir sample so memory stays flat on long backfills;
# 10,000 samples put p99 within a fraction of a percent of the true value.
LATENCY_RESERVOIR_SIZE = 10_000

_COUNTERS = (
    "requests",
    "retries",
    "throttled",
    "load_quota_pauses",
    "token_refreshes",
    "rows",
    "limiter_wait_seconds",
)
_GAUGES = (
    "budget_qpm",
    "peak_in_flight",
    "peak_queue_depth",
    "elapsed_seconds",
    "busiest_minute_requests",
)
QPM_WINDOW_SECONDS = 60.0


@dataclass
class FetchStats:
    """Counters of one fetcher (or, via `since`, of one slice of its life).

    throttled counts 429s and 403 rate-limit answers; rows counts rows kept in results.
    `busiest_minute_requests` is the most requests started in any 60 s window: the number to
    hold against `budget_qpm` (it can never exceed it when the limiter works).
    """

    budget_qpm: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    load_quota_pauses: int = 0
    token_refreshes: int = 0
    rows: int = 0
    limiter_wait_seconds: float = 0.0
    peak_in_flight: int = 0
    peak_queue_depth: int = 0
    elapsed_seconds: float = 0.0
    busiest_minute_requests: int = 0
    clock: Clock = field(default_factory=SystemClock, repr=False, compare=False)
    _latencies_ms: list[float] = field(default_factory=list, repr=False, compare=False)
    _latency_count: int = field(default=0, repr=False, compare=False)
    _in_flight: int = field(default=0, repr=False, compare=False)
    _started_at: float | None = field(default=None, repr=False, compare=False)
    _recent_starts: deque[float] = field(default_factory=deque, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)

    def add(self, counter: str, amount: float = 1) -> None:
        """Add `amount` to one of the plain counters (requests, retries, throttled, ...)."""
        if counter not in _COUNTERS:
            raise ValueError(f"unknown counter {counter!r}; expected one of {_COUNTERS}")
        with self._lock:
            setattr(self, counter, getattr(self, counter) + amount)

    def request_started(self) -> None:
        """One HTTP request begins: counts it and tracks the peak number in flight."""
        with self._lock:
            now = self.clock.monotonic()
            if self._started_at is None:
                self._started_at = now
            self.requests += 1
            # Starts in the last 60 s (at most about one budget of them): the busiest minute.
            recent = self._recent_starts
            recent.append(now)
            while recent[0] <= now - QPM_WINDOW_SECONDS:
                recent.popleft()
            self.busiest_minute_requests = max(self.busiest_minute_requests, len(recent))
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def request_finished(self, latency_seconds: float) -> None:
        """One HTTP request ended (any outcome) after `latency_seconds`."""
        with self._lock:
            self._in_flight -= 1
            self._record_latency(latency_seconds * 1000.0)
            if self._started_at is not None:
                self.elapsed_seconds = self.clock.monotonic() - self._started_at

    def observe_queue_depth(self, depth: int) -> None:
        """Remember the deepest the work queue has been."""
        with self._lock:
            self.peak_queue_depth = max(self.peak_queue_depth, depth)

    def _record_latency(self, latency_ms: float) -> None:
        # Reservoir sampling (Algorithm R): every latency has the same chance to be kept.
        self._latency_count += 1
        if len(self._latencies_ms) < LATENCY_RESERVOIR_SIZE:
            self._latencies_ms.append(latency_ms)
            return
        slot = self._rng.randrange(self._latency_count)
        if slot < LATENCY_RESERVOIR_SIZE:
            self._latencies_ms[slot] = latency_ms

    def latency_percentile_ms(self, percentile: float) -> float:
        """The nearest-rank percentile of request latency in milliseconds (0.0 when none)."""
        with self._lock:
            ordered = sorted(self._latencies_ms)
        if not ordered:
            return 0.0
        rank = max(1, min(len(ordered), math.ceil(percentile / 100.0 * len(ordered))))
        return ordered[rank - 1]

    @property
    def achieved_qpm(self) -> float:
        """Requests per minute, averaged over the run but over no less than one minute.

        A run shorter than a minute made all its requests within one minute, so its rate is its
        request count: 14 requests in a 2 s burst are 14 QPM, not 420 (which would read like a
        budget violation). Longer runs get the plain average over their elapsed time.
        """
        if self.requests == 0:
            return 0.0
        return self.requests / max(self.elapsed_seconds, QPM_WINDOW_SECONDS) * 60.0

    def snapshot(self) -> FetchStats:
        """A consistent copy of the counters (latency samples included), safe to keep."""
        with self._lock:
            copy = FetchStats(clock=self.clock)
            for name in (*_COUNTERS, *_GAUGES):
                setattr(copy, name, getattr(self, name))
            copy._latencies_ms = list(self._latencies_ms)
            copy._latency_count = self._latency_count
            return copy

    def since(self, earlier: FetchStats) -> FetchStats:
        """The counters accumulated after `earlier` (a snapshot): per-day or per-partition deltas.

        Peaks, budget and latency samples are the current ones (peaks cannot be subtracted).
        """
        delta = self.snapshot()
        for name in _COUNTERS:
            setattr(delta, name, getattr(delta, name) - getattr(earlier, name))
        delta.elapsed_seconds = max(0.0, delta.elapsed_seconds - earlier.elapsed_seconds)
        return delta

    def as_metadata(self) -> dict[str, int | float]:
        """Flat numbers for Dagster metadata: every value is an int or a float."""
        metadata: dict[str, int | float] = {
            name.name: getattr(self, name.name)
            for name in fields(self)
            if not name.name.startswith("_") and name.name != "clock"
        }
        metadata["limiter_wait_seconds"] = round(self.limiter_wait_seconds, 3)
        metadata["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        metadata["achieved_qpm"] = round(self.achieved_qpm, 1)
        for percentile in (50, 95, 99):
            metadata[f"latency_p{percentile}_ms"] = round(self.latency_percentile_ms(percentile), 1)
        return metadata


class ProgressReporter:
    """Progress lines during long fetches: at most one per `interval_seconds`, plus the last.

    `report` is called by the consumer thread while it waits for the next range of dates and
    after each one it takes; `sink` is usually the Dagster logger's `info`. Without a sink it
    does nothing.
    """

    def __init__(
        self,
        sink: Callable[[str], None] | None,
        stats: FetchStats,
        clock: Clock,
        interval_seconds: float = 30.0,
    ) -> None:
        self._sink, self._stats, self._clock = sink, stats, clock
        self._interval = interval_seconds
        self._last = clock.monotonic()

    def report(self, delivered: int, total: int | None, force: bool = False) -> None:
        """Emit a line if one is due (or `force`): planned requests (ranges of dates) delivered,
        HTTP requests, retries, QPM."""
        if self._sink is None:
            return
        now = self._clock.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        stats = self._stats
        ranges = f"{delivered}/{total}" if total is not None else str(delivered)
        self._sink(
            f"fetched {ranges} ranges, {stats.requests} requests, {stats.retries} retries, "
            f"{stats.achieved_qpm:.0f} QPM, busiest minute {stats.busiest_minute_requests} "
            f"requests (budget {stats.budget_qpm})"
        )
