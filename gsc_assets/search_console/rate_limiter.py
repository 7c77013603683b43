"""Quota-exact admission: per-site and per-credential sliding 60-second windows.

Search Console counts queries per site and per user (credential) over a minute (GSC_API.md
"Quotas"). A request is admitted only when it fits BOTH budgets, so in no sliding window of
`window_seconds` are more than the budget accepted, across the threads of a run (an
`InMemoryQuotaStore`) or across processes and machines (`warehouse.quota_store.SqlQuotaStore`).

Sliding log, not token bucket: a token bucket lets a full burst through at every refill
boundary, so a server counting any 60 s window could see up to twice the budget; a log of
admission times cannot. The window is counted as `window_seconds + safety_seconds`: the
margin absorbs the jitter between our admission and the server's receipt of the request.

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
    "InMemoryQuotaStore",
    "QuotaLimiter",
    "QuotaStore",
    "site_bucket",
    "user_bucket",
    "wait_for_bucket",
]

DEFAULT_BUDGET_QPM = 960  # 80% of Google's 1,200 QPM (GSC_API.md), headroom for other tools
MIN_FACTOR = 0.1
THROTTLE_CUT = 0.5
RECOVERY_STEP = 0.05


def site_bucket(site_url: str) -> str:
    """The quota bucket of one Search Console property."""
    return f"site:{site_url}"


def user_bucket(credential_id: str) -> str:
    """The quota bucket of one credential (Google's per-user quota spans all its sites)."""
    return f"user:{credential_id}"


@dataclass
class _SiteState:
    """This process's view of a site's shared state, re-read from the store now and then."""

    factor: float = 1.0
    paused_until: float = 0.0
    read_at: float = -math.inf
    last_cut: float = -math.inf


class QuotaLimiter:
    """Blocks each request until both its site's and its credential's budgets admit it.

    Thread-safe; every request, first try or retry, must pass `acquire`. Times given to the
    store are `clock.time()` (epoch seconds: the only clock comparable across processes).
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
        safety_seconds: float = 1.0,
        refresh_seconds: float = 1.0,
    ) -> None:
        if budget_qpm < 1:
            raise ValueError(f"budget_qpm must be >= 1, got {budget_qpm}")
        self.store = store
        self.budget_qpm = budget_qpm
        self.window = window_seconds + safety_seconds
        self._clock = clock or SystemClock()
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._sites: dict[str, _SiteState] = {}

    def acquire(
        self, site_url: str, credential_id: str, cancel: threading.Event | None = None
    ) -> float:
        """Block until admitted under both budgets; return the seconds spent waiting.

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
                wait = self.store.try_admit(buckets, now, self.window)
                if wait <= 0:
                    return waited
            self._sleep(wait, cancel)
            waited += wait

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
