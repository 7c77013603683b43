"""The quota under a bad network: requests that reach Google long after their admission.

`quota_delayed`: simulator quota = budget = 600 QPM, answers with latency median 300 ms / p99
900 ms plus 2% stalls of 3 s, and 10% of requests held 2.5 s between their admission and
their sending (a slow proxy, a paused VM, a congested link): longer than the 1 s margin the
limiter used to assume. The simulator judges by when it RECEIVED each request.
"""

from __future__ import annotations

import random
import threading
import time

from benchmarks.common import Result, Target, fetch_days, final_days
from benchmarks.fetch_scenarios import quota_result
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.credentials import load_token_provider
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets.simulator import SimulatorConfig, running_simulator

HELD_SHARE, HELD_SECONDS = 0.10, 2.5


class HeldClient:
    """Holds a seeded share of requests `HELD_SECONDS` between admission and sending."""

    def __init__(self, client: SearchConsoleClient, seed: int = 0) -> None:
        self._client, self._rng = client, random.Random(seed)
        self._lock = threading.Lock()
        self.held = 0

    def query(self, request):  # type: ignore[no-untyped-def]
        """Forward to the real client, after the hold when drawn."""
        with self._lock:
            hold = self._rng.random() < HELD_SHARE
            self.held += hold
        if hold:
            time.sleep(HELD_SECONDS)
        return self._client.query(request)


def quota_delayed(quick: bool) -> Result:
    """Quota 600 QPM = budget; slow answers and requests held after admission."""
    budget = 600
    minutes = 1 if quick else 3
    requests = budget * minutes + budget // 2
    config = SimulatorConfig(
        qpm_per_site=budget,
        qpm_per_user=budget,
        latency_median_ms=300.0,
        latency_p99_ms=900.0,
        slow_rate=0.02,
        slow_seconds=3.0,
    )
    types = (SearchType.WEB, SearchType.IMAGE, SearchType.VIDEO, SearchType.NEWS)
    with running_simulator(config) as sim:
        days: list[DaySlice] = []
        for search_type in types:
            days += final_days(sim, sim.sites[1], requests // len(types) + 1, search_type)
        days = days[:requests]
        sim.reset_stats()
        tokens = load_token_provider(access_token="sim-token", credentials_file=None)
        client = SearchConsoleClient(sim.base_url, tokens, timeout_seconds=30.0, pool_size=32)
        held = HeldClient(client)
        fetcher = PartitionFetcher(
            held,
            QuotaLimiter(InMemoryQuotaStore(), budget_qpm=budget),
            credential_id=tokens.identity,
            max_concurrency=32,  # enough in flight to keep the budget bound despite latency
            retry_policy=RetryPolicy(base_delay_seconds=0.2, max_delay_seconds=5.0),
        )
        wall = fetch_days(fetcher, client, days)
        stats = sim.stats()
    result = quota_result(
        "quota_delayed",
        f"Quota under a bad network: quota = budget = {budget} QPM, latency 300 ms / p99 "
        f"900 ms + 2% stalls of 3 s, {HELD_SHARE:.0%} of requests held {HELD_SECONDS} s "
        f"between admission and sending, {requests} requests",
        stats,
        budget,
        wall,
        quick,
        extra_notes=[
            f"{held.held} requests were held {HELD_SECONDS} s after admission; fetcher: "
            f"{fetcher.stats.as_metadata()}",
        ],
    )
    retries = fetcher.stats.retries
    result.targets.append(Target("no request retried", str(retries), retries == 0))
    return result
