"""Injected trouble: latency, 5xx answers, dropped connections and stalls.

Latency is lognormal, fitted to a median and a 99th percentile (p99 = median * exp(2.326 sigma)).
All draws come from one seeded RNG so a fault scenario is reproducible for a given request order.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

Z_99 = 2.3263  # standard normal quantile at 0.99


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one request: sleep `delay_seconds`, then `outcome`."""

    delay_seconds: float
    outcome: str  # "ok", "drop", "error500", "error503"


def lognormal_parameters(median_ms: float, p99_ms: float | None) -> tuple[float, float]:
    """(mu, sigma) of the latency in seconds; p99 defaults to 4x the median."""
    median = median_ms / 1000.0
    p99 = (p99_ms if p99_ms is not None else median_ms * 4.0) / 1000.0
    sigma = max(0.0, math.log(p99 / median) / Z_99) if p99 > median else 0.0
    return math.log(median), sigma


class FaultInjector:
    """Draws one `FaultPlan` per request from a seeded RNG."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def plan(
        self,
        *,
        latency_median_ms: float,
        latency_p99_ms: float | None,
        error_rate: float,
        drop_rate: float,
        slow_rate: float,
        slow_seconds: float,
    ) -> FaultPlan:
        """Draw the fate of one request."""
        with self._lock:
            delay = 0.0
            if latency_median_ms > 0:
                mu, sigma = lognormal_parameters(latency_median_ms, latency_p99_ms)
                delay = self._rng.lognormvariate(mu, sigma)
            if slow_rate > 0 and self._rng.random() < slow_rate:
                delay += slow_seconds
            roll = self._rng.random()
            if roll < drop_rate:
                return FaultPlan(delay, "drop")
            if roll < drop_rate + error_rate:
                return FaultPlan(delay, "error500" if self._rng.random() < 0.5 else "error503")
            return FaultPlan(delay, "ok")

    def chance(self, rate: float) -> bool:
        """One Bernoulli draw (token endpoint failures)."""
        with self._lock:
            return rate > 0 and self._rng.random() < rate
