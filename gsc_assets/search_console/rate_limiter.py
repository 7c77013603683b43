"""Quota-exact admission: per-site and per-credential sliding 60-second windows.

Search Console counts queries per site and per user (credential) over a minute
(docs/search_console_api.md "Limits"). A request is admitted only when it fits BOTH budgets,
so in no sliding window of `window_seconds` are more than the budget accepted, across the
threads of a run (an `InMemoryQuotaStore`) or across processes and machines
(`warehouse.quota_store.SqlQuotaStore`).

Sliding log, not token bucket: a token bucket lets a full burst through at every refill
boundary, so a server counting any 60 s window could see up to twice the budget; a log cannot.

No assumption about the network: Google receives a request at some unknown time between its
admission and its answer. Each log entry is the latest such time: provisional (admission +
`lease_seconds`) while in flight, re-stamped by `settle` when the answer arrives. Counting
every entry newer than `now - window` then bounds every window Google can measure: of any
requests Google receives in one window, the last admitted saw all the others still in the log
(each was admitted before it, and answered no earlier than received), so at most the budget.
A request that got no answer (timeout, dropped connection) keeps its lease: the kernel may
still deliver its bytes after we gave up. `safety_seconds` widens the window further (default
none: the re-stamp already covers the transit that the old 1 s margin assumed away).

Adaptive throttling: a 429 halves the site's effective budget at once (floor 10%); successes
restore it 5% at a time. The factor lives in the store, so other processes slow down too.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from gsc_assets.search_console.clock import Clock, SystemClock
from gsc_assets.search_console.errors import FetchCancelledError
from gsc_assets.search_console.quota_log import InMemoryQuotaStore, QuotaStore, wait_for_bucket

# Re-exported: callers import the store protocol and the in-process store from here.
__all__ = [
    "Admission",
    "InMemoryQuotaStore",
    "QuotaLimiter",
    "QuotaStore",
    "site_bucket",
    "user_bucket",
    "wait_for_bucket",
]

DEFAULT_BUDGET_QPM = 960  # 80% of Google's 1,200 QPM, headroom for other tools
MIN_FACTOR = 0.1
THROTTLE_CUT = 0.5
RECOVERY_STEP = 0.05
# How long an unsettled admission counts as in flight: far above the client's timeouts, and
# what a crashed process's in-flight requests cost (their slots, for lease + window).
DEFAULT_LEASE_SECONDS = 300.0


def site_bucket(site_url: str) -> str:
    """The quota bucket of one Search Console property."""
    return f"site:{site_url}"


def user_bucket(credential_id: str) -> str:
    """The quota bucket of one credential (Google's per-user quota spans all its sites)."""
    return f"user:{credential_id}"


@dataclass(frozen=True)
class Admission:
    """One admitted request: the buckets it was recorded in, its provisional stamp (the store's
    clock) and the seconds it waited. Pass it to `QuotaLimiter.settle` once answered."""

    buckets: tuple[str, str]
    stamp: float
    waited: float


@dataclass
class _SiteState:
    """This process's view of a site's shared state, re-read from the store now and then."""

    factor: float = 1.0
    paused_until: float = 0.0
    read_at: float = -math.inf
    last_cut: float = -math.inf


class QuotaLimiter:
    """Blocks each request until both its site's and its credential's budgets admit it.

    Thread-safe; every request, first try or retry, must pass `acquire`, and be settled with
    `settle` when its answer (any HTTP status) arrives. `lease_seconds` must exceed the longest
    a request can stay unanswered before Google receives it (the client's connect and read
    timeouts, 60 s each by default, plus a token refresh). Times given to the store are
    `clock.time()` (epoch seconds: the only clock comparable across processes).
    A site's factor and pause are cached for `refresh_seconds`: this process applies its own
    throttles and pauses at once, other processes' within `refresh_seconds`.
    """

    def __init__(
        self,
        store: QuotaStore,
        *,
        budget_qpm: int = DEFAULT_BUDGET_QPM,
        clock: Clock | None = None,
        window_seconds: float = 60.0,
        safety_seconds: float = 0.0,
        refresh_seconds: float = 1.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if budget_qpm < 1:
            raise ValueError(f"budget_qpm must be >= 1, got {budget_qpm}")
        self.store = store
        self.budget_qpm = budget_qpm
        self.window = window_seconds + safety_seconds
        self.lease_seconds = lease_seconds
        self._clock = clock or SystemClock()
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._sites: dict[str, _SiteState] = {}

    def acquire(
        self, site_url: str, credential_id: str, cancel: threading.Event | None = None
    ) -> Admission:
        """Block until admitted under both budgets; the admission says how long it waited.

        Raises FetchCancelledError as soon as `cancel` is set while waiting.
        """
        site, user = site_bucket(site_url), user_bucket(credential_id)
        waited = 0.0
        while True:
            if cancel is not None and cancel.is_set():
                raise FetchCancelledError(f"cancelled while waiting for quota for {site_url!r}")
            state = self._site_state(site_url)
            now = self._clock.time()
            wait = state.paused_until - now
            if wait <= 0:
                buckets = [(site, self._limit(state.factor)), (user, self.budget_qpm)]
                wait, stamp = self.store.try_admit(buckets, now, self.window, self.lease_seconds)
                if stamp is not None:
                    return Admission((site, user), stamp, waited)
            self._sleep(wait, cancel)
            waited += wait

    def settle(self, admission: Admission) -> None:
        """The request's answer arrived (or it was never sent): Google received it, if at all,
        by now, so its entries count from now instead of from the end of the lease."""
        self.store.settle(admission.buckets, admission.stamp, self._clock.time())

    def _sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        # A real clock waits on the event, so cancellation interrupts the wait at once; an
        # injected clock (tests) must be slept on, since only it knows how time moves.
        if cancel is not None and isinstance(self._clock, SystemClock):
            cancel.wait(seconds)
        else:
            self._clock.sleep(seconds)

    def _limit(self, factor: float) -> int:
        return max(1, math.floor(self.budget_qpm * factor + 1e-9))

    def site_limit(self, site_url: str) -> int:
        """The site's budget per window after adaptive throttling (at least 1)."""
        return self._limit(self._site_state(site_url).factor)

    def _site_state(self, site_url: str) -> _SiteState:
        now = self._clock.monotonic()
        with self._lock:
            state = self._sites.setdefault(site_url, _SiteState())
            if now - state.read_at < self._refresh:
                return state
            state.read_at = now  # one thread re-reads; the others use the cached values
        bucket = site_bucket(site_url)
        factor, paused = self.store.get_factor(bucket), self.store.paused_until(bucket)
        with self._lock:
            state.factor, state.paused_until = factor, max(paused, state.paused_until)
            return state

    def on_throttled(self, site_url: str) -> None:
        """A 429 / 403 rate answer: halve the site's budget now, for every thread and process.

        Answers arriving within `refresh_seconds` of a cut are echoes of the same burst
        (requests admitted before the cut), so they do not cut again.
        """
        now = self._clock.monotonic()
        bucket = site_bucket(site_url)
        with self._lock:
            state = self._sites.setdefault(site_url, _SiteState())
            if now - state.last_cut < self._refresh:
                return
            state.last_cut = now
        factor = max(MIN_FACTOR, self.store.get_factor(bucket) * THROTTLE_CUT)
        self.store.set_factor(bucket, factor)
        with self._lock:
            state.factor, state.read_at = factor, now

    def on_success(self, site_url: str) -> None:
        """Recover the site's budget by one step; the store is written at most once a refresh.

        Writing on every success would be a shared-store write per request.
        """
        now = self._clock.monotonic()
        with self._lock:
            state = self._sites.setdefault(site_url, _SiteState())
            if state.factor >= 1.0:
                return
            state.factor = min(1.0, state.factor + RECOVERY_STEP)
            write = state.factor >= 1.0 or now - state.read_at >= self._refresh
            if write:
                state.read_at = now
            factor = state.factor
        if write:
            self.store.set_factor(site_bucket(site_url), factor)

    def on_load_quota(self, site_url: str, cooloff_seconds: float) -> None:
        """A load-quota answer: admit nothing for the site until the cool-off has passed."""
        until = self._clock.time() + cooloff_seconds
        self.store.pause(site_bucket(site_url), until)
        with self._lock:
            state = self._sites.setdefault(site_url, _SiteState())
            state.paused_until = max(state.paused_until, until)
