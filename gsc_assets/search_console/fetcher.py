"""Fetch planned Search Console requests concurrently, within quota, as each completes.

A job is one planned request (`planner.RangeRequest`: one report, site and search type,
consecutive dates); a work unit is one page of it (request, start_row). Pages of one request
are sequential (a full page means there may be more; speculative pages would spend quota) and
stop at the request's known cap, but requests run in parallel on `max_concurrency` worker
threads. Every request, first try or retry, passes the `QuotaLimiter`. A job is handed over
only when all its pages are in, and in completion order: one slow (p99) request does not stall
the workers behind it.

Retries wait in ONE heap ordered by due time: no worker sleeps per retry; idle workers wait
on a condition, one of them timed to the earliest due time. A `PermanentError` (or `cancel()`,
or the caller's cancel_event) halts everything: queued work is dropped, no new request starts,
limiter waits abort, and the error is raised to the consumer within `POLL_SECONDS`. Requests
already on the wire are abandoned; their answers are discarded.

Memory stays flat: at most `max_pending_days` jobs are in progress or waiting to be consumed,
and fewer when they are big: a job is submitted only while the pending jobs' expected rows plus
one more fit in `max_pending_rows` (a job is expected to hold as many rows as the largest
delivered so far, one full page before the first; one pending job is always allowed).
The default, 150,000 rows, keeps three 50,000-row days coming while one is written: with two,
the writer waited for fetches about a fifth of a run (BENCHMARKS.md "core_requests").
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized

from gsc_assets.reports.limits import MAX_ROWS_PER_REQUEST, pacific_date
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import DataState
from gsc_assets.search_console.clock import Clock, SystemClock
from gsc_assets.search_console.day_jobs import RangeJob, share_first_incomplete
from gsc_assets.search_console.errors import (
    FetchCancelledError,
)
from gsc_assets.search_console.planner import RangeRequest, one_day
from gsc_assets.search_console.rate_limiter import QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets.search_console.runner import QueryClient, RequestRunner, RetriesExhaustedError
from gsc_assets.search_console.telemetry import FetchStats, ProgressReporter
from gsc_assets.search_console.work_queue import Task, WorkQueue

__all__ = ["POLL_SECONDS", "PartitionFetcher", "QueryClient", "RetriesExhaustedError"]

DEFAULT_MAX_CONCURRENCY = 8  # requests in flight per fetcher (GSC_MAX_CONCURRENCY)
POLL_SECONDS = 0.1  # how often a waiting consumer looks at the caller's cancel_event


class PartitionFetcher:
    """Fetches planned requests on a thread pool, in quota, and yields each as it completes.

    One fetcher serves many `iter_requests` / `iter_days` / `fetch_day` calls (one at a time);
    `close()` it at the end. After a halt (permanent error or cancel) every call raises that
    error again.
    """

    def __init__(
        self,
        client: QueryClient,
        limiter: QuotaLimiter,
        *,
        credential_id: str,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retry_policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so safe to share
        clock: Clock | None = None,
        max_pending_days: int = 64,
        max_pending_rows: int = 150_000,
        cancel_event: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
        progress_interval_seconds: float = 30.0,
        row_limit: int = MAX_ROWS_PER_REQUEST,
        seed: int | None = None,
    ) -> None:
        if max_concurrency < 1 or max_pending_days < 1 or max_pending_rows < 1:
            raise ValueError("max_concurrency, max_pending_days and max_pending_rows must be >= 1")
        if not 1 <= row_limit <= MAX_ROWS_PER_REQUEST:
            raise ValueError(f"row_limit must be in 1..{MAX_ROWS_PER_REQUEST}, got {row_limit}")
        self._client, self._limiter, self._credential_id = client, limiter, credential_id
        self._max_concurrency, self._max_pending_days = max_concurrency, max_pending_days
        self._max_pending_rows = max_pending_rows
        self._largest_job: int | None = None  # rows of the largest request delivered so far
        self._policy, self._row_limit = retry_policy, row_limit
        self._clock = clock or SystemClock()
        self._cancel_event = cancel_event
        self._lock = threading.Lock()
        self._day_done = threading.Condition(self._lock)
        self._stats = FetchStats(budget_qpm=limiter.budget_qpm, clock=self._clock)
        self._progress = ProgressReporter(
            progress, self._stats, self._clock, progress_interval_seconds
        )
        self._queue = WorkQueue(self._lock, self._clock, self._stats)
        self._halt = threading.Event()  # set on error, cancel or close: stops limiter waits
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._runner = RequestRunner(
            client,
            limiter,
            credential_id=credential_id,
            retry_policy=retry_policy,
            row_limit=row_limit,
            clock=self._clock,
            rng=random.Random(seed),
            lock=self._lock,
            queue=self._queue,
            stats=self._stats,
            halt=self._halt,
            day_done=self._day_done,
            check_cancel=self._check_cancel,
        )

    @property
    def row_limit(self) -> int:
        """Rows asked per page (25,000 in production): the planner packs dates to fit one."""
        return self._row_limit

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
        """Yield (day, {report name: ReportData}) for one-day requests, each day as soon as all
        its reports are in (completion order, not input order)."""
        names = [report.name for report in reports]
        plans = [one_day(report, day) for day in days for report in reports]
        arrived: dict[DaySlice, dict[str, ReportData]] = {}
        for plan, results in self.iter_requests(plans, data_state):
            (batch,) = results.values()
            got = arrived.setdefault(batch.day, {})
            got[plan.report.name] = batch
            if len(got) == len(names):
                del arrived[batch.day]
                share_first_incomplete(list(got.values()))
                yield batch.day, {name: got[name] for name in names}

    def iter_requests(
        self, plans: Iterable[RangeRequest], data_state: DataState
    ) -> Iterator[tuple[RangeRequest, dict[dt.date, ReportData]]]:
        """Yield (request, {date: ReportData}) as each planned request completes, while later
        ones are fetched: completion order, so one slow request never idles the workers.

        A request is yielded only once all its pages are in. At most `max_pending_days`
        requests (and about `max_pending_rows` rows) are in flight or buffered; more are
        submitted only as the consumer takes results, so a slow consumer pauses fetching
        rather than growing memory.
        """
        self._start_workers()
        total = len(plans) if isinstance(plans, Sized) else None
        source, pending, delivered = iter(plans), list[RangeJob](), 0
        try:
            while True:
                while self._has_room(pending):
                    plan = next(source, None)
                    if plan is None:
                        break
                    pending.append(self._submit(plan, data_state))
                if not pending:
                    return
                job = self._wait_for_any(pending, delivered, total)
                pending.remove(job)
                self._largest_job = max(self._largest_job or 0, job.row_count)
                delivered += 1
                self._progress.report(delivered, total, force=delivered == total)
                plan, result = job.plan, job.result()
                del job  # the consumer holds the rows from here on
                yield plan, result
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

    def _has_room(self, pending: list[RangeJob]) -> bool:
        """May one more request be submitted, given those pending (see the module docstring)?"""
        if len(pending) >= self._max_pending_days:
            return False
        if not pending:
            return True
        expected = self._row_limit if self._largest_job is None else self._largest_job
        with self._lock:
            rows = sum(max(job.row_count, expected) for job in pending)
        return rows + expected <= self._max_pending_rows

    def _submit(self, plan: RangeRequest, data_state: DataState) -> RangeJob:
        job = RangeJob(plan, data_state, pacific_date(self._clock.time()))
        with self._lock:
            self._queue.put(Task(job, job.first_unit()))
        return job

    def _discard(self, jobs: list[RangeJob]) -> None:
        with self._lock:
            for job in jobs:
                job.discarded = True
            self._queue.drop(keep=lambda task: not task.job.discarded)

    def _wait_for_any(self, pending: list[RangeJob], delivered: int, total: int | None) -> RangeJob:
        """The earliest submitted of the `pending` jobs that is complete, once there is one."""
        while True:
            with self._lock:
                if self._error is not None:
                    raise self._error
                for job in pending:
                    if job.done:
                        return job
                self._day_done.wait(POLL_SECONDS)
            self._check_cancel()
            self._progress.report(delivered, total)

    def _check_cancel(self) -> None:
        if self._cancel_requested():
            self.cancel()

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

    def _work(self) -> None:
        while True:
            with self._lock:
                task = self._queue.get()
            if task is None:
                return
            try:
                self._runner.run(task)
            except BaseException as exc:  # a bug must halt the fetch, never hang the consumer
                self._fail(exc)
            # An idle worker must not pin its last job (and its rows) while it waits for work.
            del task
