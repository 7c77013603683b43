"""Fetch days of Search Console reports concurrently, within quota, and hand them over in order.

A work unit is one request: (DaySlice, report, start_row). Pages of one report are sequential
(a full page means there may be more; speculative pages would spend quota), but days, reports
and search types run in parallel on `max_concurrency` worker threads. Every request, first try
or retry, passes the `QuotaLimiter`.

Retries wait in ONE heap ordered by due time: no worker sleeps per retry; idle workers wait
on a condition, one of them timed to the earliest due time. A `PermanentError` (or `cancel()`,
or the caller's cancel_event) halts everything: queued work is dropped, no new request starts,
limiter waits abort, and the error is raised to the consumer within `POLL_SECONDS`. Requests
already on the wire are abandoned; their answers are discarded.

Memory stays flat: at most `max_pending_days` days are in progress or waiting to be consumed.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, replace
from typing import Protocol

from gsc_assets.search_console.clock import Clock, SystemClock
from gsc_assets.search_console.errors import (
    AuthenticationError,
    FetchCancelledError,
    LoadQuotaError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    TokenRejectedError,
)
from gsc_assets.search_console.models import (
    MAX_ROWS_PER_REQUEST,
    DataState,
    DaySlice,
    QueryPage,
    QueryRequest,
    Report,
    ReportData,
    WorkUnit,
)
from gsc_assets.search_console.rate_limiter import QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy, backoff_delay
from gsc_assets.search_console.telemetry import FetchStats

POLL_SECONDS = 0.1  # how often a waiting consumer looks at the caller's cancel_event


class QueryClient(Protocol):
    """What the fetcher needs from a client: one HTTP call per request, no retries."""

    def query(self, request: QueryRequest) -> QueryPage:
        """Run one searchAnalytics.query call."""
        ...


class RetriesExhaustedError(PermanentError):
    """A work unit failed `max_attempts` times with retryable errors; `__cause__` is the last."""

    def __init__(self, unit: WorkUnit, attempts: int, last: RetryableError) -> None:
        super().__init__(
            f"gave up on report {unit.report_name!r} rows from {unit.start_row} for "
            f"{unit.day.describe()} after {attempts} attempts; last error: {last.message}",
            status=last.status,
            reason=last.reason,
        )
        self.unit = unit


class _DayJob:
    """Every page fetched so far for one DaySlice, keyed by work unit (a retry replaces)."""

    def __init__(self, day: DaySlice, reports: Sequence[Report], data_state: DataState) -> None:
        self.day = day
        self.data_state = data_state
        self.reports = {report.name: report for report in reports}
        self.open_reports = set(self.reports)
        self.pages: dict[WorkUnit, QueryPage] = {}
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.discarded = False

    @property
    def done(self) -> bool:
        """True once every report has received its last (short or empty) page."""
        return not self.open_reports

    def result(self) -> dict[str, ReportData]:
        """Each report's rows, pages concatenated in start_row order."""
        return {name: self._report_data(report) for name, report in self.reports.items()}

    def _report_data(self, report: Report) -> ReportData:
        units = sorted(
            (unit for unit in self.pages if unit.report_name == report.name),
            key=lambda unit: unit.start_row,
        )
        pages = [self.pages[unit] for unit in units]
        incomplete = [p.first_incomplete_date for p in pages if p.first_incomplete_date]
        return ReportData(
            day=self.day,
            report=report,
            rows=[row for page in pages for row in page.rows],
            requests=self.requests[report.name],
            retries=self.retries[report.name],
            pages=len(pages),
            data_state=self.data_state,
            first_incomplete_date=min(incomplete) if incomplete else None,
        )


@dataclass(frozen=True, eq=False)
class _Task:
    job: _DayJob
    unit: WorkUnit
    attempt: int = 1
    token_retried: bool = False


class _WorkQueue:
    """Tasks ordered by due time; `get` blocks until the earliest is due (or the queue closes).

    Among idle workers only one waits with a timeout (until the earliest due time); the others
    wait untimed. With an injected clock that one worker sleeps on the clock, so tests with a
    FakeClock move time exactly once per wait instead of once per idle worker.
    """

    def __init__(self, lock: threading.Lock, clock: Clock, stats: FetchStats) -> None:
        self._ready = threading.Condition(lock)
        self._clock = clock
        self._stats = stats
        self._heap: list[tuple[float, int, _Task]] = []
        self._order = itertools.count()
        self._timer_taken = False
        self.closed = False

    def put(self, task: _Task, delay: float = 0.0) -> None:
        """Queue `task` to run `delay` seconds from now. Caller holds the lock."""
        due = self._clock.monotonic() + delay
        heapq.heappush(self._heap, (due, next(self._order), task))
        self._stats.observe_queue_depth(len(self._heap))
        # A future task may be due before the one the timed waiter waits for: wake everyone.
        if delay > 0:
            self._ready.notify_all()
        else:
            self._ready.notify()

    def get(self) -> _Task | None:
        """The earliest due task, or None once closed. Caller holds the lock."""
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

    def drop(self, keep: Callable[[_Task], bool] | None = None) -> None:
        """Forget queued tasks (those `keep` rejects; all without it). Caller holds the lock."""
        self._heap = [entry for entry in self._heap if keep is not None and keep(entry[2])]
        heapq.heapify(self._heap)

    def close(self) -> None:
        """Wake every waiter; `get` returns None from now on. Caller holds the lock."""
        self.closed = True
        self._ready.notify_all()


class PartitionFetcher:
    """Fetches DaySlices' reports on a thread pool, in quota, and yields days in input order.

    One fetcher serves many `fetch_day` / `iter_days` calls (one at a time); `close()` it at
    the end. After a halt (permanent error or cancel) every call raises that error again.
    """

    def __init__(
        self,
        client: QueryClient,
        limiter: QuotaLimiter,
        *,
        credential_id: str,
        max_concurrency: int = 16,
        retry_policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so safe to share
        clock: Clock | None = None,
        max_pending_days: int = 8,
        cancel_event: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
        progress_interval_seconds: float = 30.0,
        row_limit: int = MAX_ROWS_PER_REQUEST,
        seed: int | None = None,
    ) -> None:
        if max_concurrency < 1 or max_pending_days < 1:
            raise ValueError("max_concurrency and max_pending_days must be >= 1")
        if not 1 <= row_limit <= MAX_ROWS_PER_REQUEST:
            raise ValueError(f"row_limit must be in 1..{MAX_ROWS_PER_REQUEST}, got {row_limit}")
        self._client, self._limiter, self._credential_id = client, limiter, credential_id
        self._max_concurrency, self._max_pending_days = max_concurrency, max_pending_days
        self._policy, self._row_limit = retry_policy, row_limit
        self._clock = clock or SystemClock()
        self._cancel_event, self._progress = cancel_event, progress
        self._progress_interval = progress_interval_seconds
        self._last_progress = self._clock.monotonic()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._day_done = threading.Condition(self._lock)
        self._stats = FetchStats(budget_qpm=limiter.budget_qpm, clock=self._clock)
        self._queue = _WorkQueue(self._lock, self._clock, self._stats)
        self._halt = threading.Event()  # set on error, cancel or close: stops limiter waits
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []

    @property
    def stats(self) -> FetchStats:
        """Live counters of everything this fetcher did."""
        return self._stats

    def fetch_day(
        self, day: DaySlice, reports: Sequence[Report], data_state: DataState
    ) -> dict[str, ReportData]:
        """Every page of every report for one DaySlice, keyed by report name."""
        for _, result in self.iter_days([day], reports, data_state):
            return result
        raise AssertionError("iter_days yielded nothing for one day")  # pragma: no cover

    def iter_days(
        self, days: Iterable[DaySlice], reports: Sequence[Report], data_state: DataState
    ) -> Iterator[tuple[DaySlice, dict[str, ReportData]]]:
        """Yield (day, {report name: ReportData}) in input order while later days are fetched.

        At most `max_pending_days` days are in flight or buffered; more are submitted only as
        the consumer takes days, so a slow consumer pauses fetching rather than growing memory.
        """
        self._start_workers()
        total = len(days) if isinstance(days, Sized) else None
        source, pending, delivered = iter(days), list[_DayJob](), 0
        try:
            while True:
                while len(pending) < self._max_pending_days:
                    day = next(source, None)
                    if day is None:
                        break
                    pending.append(self._submit(day, reports, data_state))
                if not pending:
                    return
                self._wait_for(pending[0], delivered, total)
                job = pending.pop(0)
                delivered += 1
                self._report_progress(delivered, total, force=delivered == total)
                yield job.day, job.result()
        finally:
            self._discard(pending)

    def cancel(self) -> None:
        """Halt: drop queued work, stop starting requests, raise FetchCancelledError to callers."""
        self._fail(FetchCancelledError("the fetch was cancelled"))

    def close(self) -> None:
        """Stop the workers (requests on the wire are abandoned); the fetcher cannot be reused."""
        with self._lock:
            self._queue.close()
            self._halt.set()
            self._day_done.notify_all()
        for thread in self._threads:
            thread.join(timeout=POLL_SECONDS)

    def _start_workers(self) -> None:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._queue.closed:
                raise RuntimeError("this PartitionFetcher is closed")
            while len(self._threads) < self._max_concurrency:
                name = f"gsc-fetch-{len(self._threads)}"
                thread = threading.Thread(target=self._work, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()

    def _submit(self, day: DaySlice, reports: Sequence[Report], data_state: DataState) -> _DayJob:
        job = _DayJob(day, reports, data_state)
        with self._lock:
            for name in job.reports:
                self._queue.put(_Task(job, WorkUnit(day, name, 0)))
        return job

    def _discard(self, jobs: list[_DayJob]) -> None:
        with self._lock:
            for job in jobs:
                job.discarded = True
            self._queue.drop(keep=lambda task: not task.job.discarded)

    def _wait_for(self, job: _DayJob, delivered: int, total: int | None) -> None:
        while True:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if job.done:
                    return
                self._day_done.wait(POLL_SECONDS)
            if self._cancel_requested():
                self.cancel()
            self._report_progress(delivered, total)

    def _cancel_requested(self) -> bool:
        return self._cancel_event is not None and self._cancel_event.is_set()

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = error
            self._halt.set()
            self._queue.drop()
            self._queue.close()
            self._day_done.notify_all()

    def _report_progress(self, delivered: int, total: int | None, force: bool = False) -> None:
        now = self._clock.monotonic()
        if self._progress is None:
            return
        if not force and now - self._last_progress < self._progress_interval:
            return
        self._last_progress = now
        stats = self._stats
        days = f"{delivered}/{total}" if total is not None else str(delivered)
        self._progress(
            f"fetched {days} days, {stats.requests} requests, {stats.retries} retries, "
            f"{stats.achieved_qpm:.0f} QPM (budget {stats.budget_qpm})"
        )

    def _work(self) -> None:
        while True:
            with self._lock:
                task = self._queue.get()
            if task is None:
                return
            try:
                self._run(task)
            except BaseException as exc:  # a bug must halt the fetch, never hang the consumer
                self._fail(exc)

    def _run(self, task: _Task) -> None:
        site = task.unit.day.site_url
        try:
            waited = self._limiter.acquire(site, self._credential_id, cancel=self._halt)
        except FetchCancelledError:
            return
        self._stats.add("limiter_wait_seconds", waited)
        if self._cancel_requested():
            self.cancel()
        if self._halt.is_set():
            return
        with self._lock:
            task.job.requests[task.unit.report_name] += 1
        self._stats.request_started()
        started = self._clock.monotonic()
        try:
            page = self._client.query(self._request(task))
        except RetryableError as exc:
            self._stats.request_finished(self._clock.monotonic() - started)
            self._on_retryable(task, exc)
            return
        except BaseException:
            self._stats.request_finished(self._clock.monotonic() - started)
            raise
        self._stats.request_finished(self._clock.monotonic() - started)
        self._limiter.on_success(site)
        self._on_page(task, page)

    def _request(self, task: _Task) -> QueryRequest:
        report = task.job.reports[task.unit.report_name]
        return QueryRequest(
            site_url=task.unit.day.site_url,
            start_date=task.unit.day.date,
            end_date=task.unit.day.date,
            dimensions=report.request_dimensions,
            search_type=task.unit.day.search_type,
            aggregation_type=report.aggregation_type,
            data_state=task.job.data_state,
            row_limit=self._row_limit,
            start_row=task.unit.start_row,
        )

    def _on_page(self, task: _Task, page: QueryPage) -> None:
        job, unit = task.job, task.unit
        with self._lock:
            # An abandoned request's answer (after a halt) or a discarded day's is dropped.
            if self._halt.is_set() or job.discarded:
                return
            first_answer = unit not in job.pages
            job.pages[unit] = page  # replace, never append: units are idempotent
            if not first_answer:
                return
            if len(page.rows) >= self._row_limit:
                next_unit = replace(unit, start_row=unit.start_row + self._row_limit)
                self._queue.put(_Task(job, next_unit))
            else:
                job.open_reports.discard(unit.report_name)
                if job.done:
                    self._day_done.notify_all()
        self._stats.add("rows", len(page.rows))

    def _on_retryable(self, task: _Task, error: RetryableError) -> None:
        site = task.unit.day.site_url
        if isinstance(error, TokenRejectedError):
            if task.token_retried:
                raise AuthenticationError(
                    f"the access token was rejected again after a refresh for "
                    f"{task.unit.day.describe()}: {error.message}; check the credentials"
                ) from error
            self._stats.add("token_refreshes")
            with self._lock:
                self._queue.put(replace(task, token_retried=True))
            return
        if isinstance(error, RateLimitedError):
            self._stats.add("throttled")
            self._limiter.on_throttled(site)
        elif isinstance(error, LoadQuotaError):
            self._stats.add("load_quota_pauses")
            self._limiter.on_load_quota(site, self._policy.load_quota_cooloff_seconds)
        if task.attempt >= self._policy.max_attempts:
            raise RetriesExhaustedError(task.unit, task.attempt, error) from error
        self._stats.add("retries")
        with self._lock:
            delay = backoff_delay(task.attempt, error.retry_after_seconds, self._policy, self._rng)
            task.job.retries[task.unit.report_name] += 1
            if not (self._halt.is_set() or task.job.discarded):
                self._queue.put(replace(task, attempt=task.attempt + 1), delay)
