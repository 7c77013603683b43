"""What a worker does with one task: pass the limiter, send the request, settle the answer.

Every admission is settled when its answer arrives, so the limiter counts the request from
then (see rate_limiter: no assumption on how long the request took to reach Google).
A page is stored in its `RangeJob` (and opens the next page when full); a retryable error is
classified (429 / 403 rate limit slows the limiter, load quota pauses it, a rejected token is
retried once after a refresh) and the task re-queued after its backoff, up to `max_attempts`.
A permanent error propagates out of `run`: the fetcher turns it into a halt.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from gsc_assets.search_console.clock import Clock
from gsc_assets.search_console.day_jobs import WorkUnit
from gsc_assets.search_console.errors import (
    AuthenticationError,
    FetchCancelledError,
    LoadQuotaError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    SearchConsoleError,
    TokenRejectedError,
    TransportError,
)
from gsc_assets.search_console.models import QueryPage, QueryRequest
from gsc_assets.search_console.rate_limiter import Admission, QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy, backoff_delay
from gsc_assets.search_console.telemetry import FetchStats
from gsc_assets.search_console.work_queue import Task, WorkQueue


class QueryClient(Protocol):
    """What the fetcher needs from a client: one HTTP call per request, no retries."""

    def query(self, request: QueryRequest) -> QueryPage:
        """Run one searchAnalytics.query call."""
        ...


class RetriesExhaustedError(PermanentError):
    """A work unit failed `max_attempts` times with retryable errors; `__cause__` is the last."""

    def __init__(self, unit: WorkUnit, attempts: int, last: RetryableError) -> None:
        super().__init__(
            f"gave up on report {unit.request.report.name!r} rows from {unit.start_row} for "
            f"{unit.request.describe()} after {attempts} attempts; last error: {last.message}",
            status=last.status,
            reason=last.reason,
        )
        self.unit = unit


class RequestRunner:
    """Runs tasks for a `PartitionFetcher`, sharing its lock, queue, stats and halt event."""

    def __init__(
        self,
        client: QueryClient,
        limiter: QuotaLimiter,
        *,
        credential_id: str,
        retry_policy: RetryPolicy,
        row_limit: int,
        clock: Clock,
        rng: random.Random,
        lock: threading.Lock,
        queue: WorkQueue,
        stats: FetchStats,
        halt: threading.Event,
        day_done: threading.Condition,
        check_cancel: Callable[[], None],
    ) -> None:
        self._client, self._limiter, self._credential_id = client, limiter, credential_id
        self._policy, self._row_limit, self._clock, self._rng = retry_policy, row_limit, clock, rng
        self._lock, self._queue, self._stats = lock, queue, stats
        self._halt, self._day_done, self._check_cancel = halt, day_done, check_cancel

    def run(self, task: Task) -> None:
        """Admit, send and settle one task; raises a PermanentError that must halt the fetch."""
        site = task.unit.request.site_url
        try:
            admission = self._limiter.acquire(site, self._credential_id, cancel=self._halt)
        except FetchCancelledError:
            return
        self._stats.add("limiter_wait_seconds", admission.waited)
        if not self._still_wanted(admission):
            return
        with self._lock:
            task.job.requests += 1
        self._stats.request_started()
        started = self._clock.monotonic()
        try:
            page = self._client.query(task.job.request(task.unit, self._row_limit))
        except BaseException as exc:
            # Any HTTP answer means Google has received the request: settle now. Without one
            # (TransportError, or an unexpected exception) it may still arrive: keep the lease.
            if isinstance(exc, SearchConsoleError) and not isinstance(exc, TransportError):
                self._limiter.settle(admission)
            self._stats.request_finished(self._clock.monotonic() - started)
            if isinstance(exc, RetryableError):
                self._on_retryable(task, exc)
                return
            raise
        self._limiter.settle(admission)
        self._stats.request_finished(self._clock.monotonic() - started)
        self._limiter.on_success(site)
        self._on_page(task, page)

    def _still_wanted(self, admission: Admission) -> bool:
        """False (or a cancellation error) when the fetch stopped while the task waited for
        quota; the admission is then settled at once, since its request is never sent."""
        try:
            self._check_cancel()
        except BaseException:
            self._limiter.settle(admission)
            raise
        if self._halt.is_set():
            self._limiter.settle(admission)
            return False
        return True

    def _on_page(self, task: Task, page: QueryPage) -> None:
        job, unit = task.job, task.unit
        with self._lock:
            # An abandoned request's answer (after a halt) or a discarded job's is dropped.
            if self._halt.is_set() or job.discarded:
                return
            next_unit = job.accept(unit, page, self._row_limit)
            if next_unit is not None:
                self._queue.put(Task(job, next_unit))
            elif job.done:
                self._day_done.notify_all()
        self._stats.add("rows", len(page.rows))

    def _on_retryable(self, task: Task, error: RetryableError) -> None:
        site = task.unit.request.site_url
        if isinstance(error, TokenRejectedError):
            if task.token_retried:
                raise AuthenticationError(
                    f"the access token was rejected again after a refresh for "
                    f"{task.unit.request.describe()}: {error.message}; check the credentials"
                ) from error
            self._stats.add("token_refreshes")
            with self._lock:
                self._queue.put(replace(task, token_retried=True))
            return
        if isinstance(error, RateLimitedError):
            self._stats.add("throttled")
            with self._lock:
                task.job.throttled += 1
            self._limiter.on_throttled(site)
        elif isinstance(error, LoadQuotaError):
            self._stats.add("load_quota_pauses")
            self._limiter.on_load_quota(site, self._policy.load_quota_cooloff_seconds)
        if task.attempt >= self._policy.max_attempts:
            raise RetriesExhaustedError(task.unit, task.attempt, error) from error
        self._stats.add("retries")
        with self._lock:
            delay = backoff_delay(task.attempt, error.retry_after_seconds, self._policy, self._rng)
            task.job.retries += 1
            if not (self._halt.is_set() or task.job.discarded):
                self._queue.put(replace(task, attempt=task.attempt + 1), delay)
