"""The fetcher's one queue: tasks (first tries, next pages, retries) ordered by due time.

No worker sleeps per retry. Idle workers wait on one condition; among them only one waits
with a timeout (until the earliest due time), the others wait untimed. With an injected clock
that one worker sleeps on the clock, so tests with a FakeClock move time exactly once per wait
instead of once per idle worker.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gsc_assets.search_console.clock import Clock, SystemClock
from gsc_assets.search_console.day_jobs import RangeJob, WorkUnit
from gsc_assets.search_console.telemetry import FetchStats


@dataclass(frozen=True, eq=False)
class Task:
    """One attempt at one work unit (one page of one planned request)."""

    job: RangeJob
    unit: WorkUnit
    attempt: int = 1
    token_retried: bool = False


class WorkQueue:
    """Tasks ordered by due time; `get` blocks until the earliest is due (or the queue closes).

    Every method expects the caller to hold the lock passed in (the fetcher's one lock).
    """

    def __init__(self, lock: threading.Lock, clock: Clock, stats: FetchStats) -> None:
        self._ready = threading.Condition(lock)
        self._clock = clock
        self._stats = stats
        self._heap: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        self._timer_taken = False
        self.closed = False

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, task: Task, delay: float = 0.0) -> None:
        """Queue `task` to run `delay` seconds from now."""
        due = self._clock.monotonic() + delay
        heapq.heappush(self._heap, (due, next(self._order), task))
        self._stats.observe_queue_depth(len(self._heap))
        # A future task may be due before the one the timed waiter waits for: wake everyone.
        if delay > 0:
            self._ready.notify_all()
        else:
            self._ready.notify()

    def get(self) -> Task | None:
        """The earliest due task, or None once closed. Tasks of discarded jobs are skipped."""
        while not self.closed:
            if not self._heap:
                self._ready.wait()
                continue
            delay = self._heap[0][0] - self._clock.monotonic()
            if delay <= 0:
                task = heapq.heappop(self._heap)[2]
                if self._heap:
                    self._ready.notify()  # someone else may own the timer for the next one
                if not task.job.discarded:
                    return task
            elif self._timer_taken:
                self._ready.wait()
            else:
                self._wait_for_due(delay)
        return None

    def _wait_for_due(self, delay: float) -> None:
        self._timer_taken = True
        try:
            if isinstance(self._clock, SystemClock):
                self._ready.wait(delay)
            else:
                self._ready.release()
                try:
                    self._clock.sleep(delay)
                finally:
                    self._ready.acquire()
        finally:
            self._timer_taken = False
            self._ready.notify()

    def drop(self, keep: Callable[[Task], bool] | None = None) -> None:
        """Forget queued tasks (those `keep` rejects; all without it)."""
        self._heap = [entry for entry in self._heap if keep is not None and keep(entry[2])]
        heapq.heapify(self._heap)

    def close(self) -> None:
        """Wake every waiter; `get` returns None from now on."""
        self.closed = True
        self._ready.notify_all()
