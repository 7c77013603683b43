"""`SimulatorConfig`: every knob of the simulator, with Google's defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from gsc_assets.simulator.dataset import DEFAULT_SITES, SiteSpec

QUOTA_STYLES = ("429", "403")


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated Search Console behaves. Change a running one with `configure()`.

    Quotas: `qpm_per_site` / `qpm_per_user` (None disables) over `quota_window_seconds`;
    `quota_error_style` "429" (RESOURCE_EXHAUSTED) or "403" (quotaExceeded); `load_quota_seconds`
    / `load_quota_requests` arm the 403 load-quota error from the moment they are configured.
    Faults: lognormal latency from `latency_median_ms` / `latency_p99_ms`; `error_rate` (500/503),
    `drop_rate` (socket closed without an answer), `slow_rate` + `slow_seconds` (stalls).
    Auth: `static_tokens` never expire; `access` maps identity -> visible sites (None: all).
    """

    seed: int = 0
    sites: tuple[SiteSpec, ...] = DEFAULT_SITES
    today: dt.date | None = None  # None: the current date in America/Los_Angeles
    hour: int | None = None  # the current hour (0-23, Pacific) of `today`; None: the clock's
    # The hour (Pacific) from which the current date's first fresh data is served: before it,
    # `today` has no data at all, and its answers carry no metadata (nothing is published yet).
    fresh_publish_hour: int = 0
    # Queries whose range touches one of these dates are answered 400 INVALID_ARGUMENT, as Google
    # answers a request it refuses: for testing how a client stops (a fault, not a Google rule).
    refuse_dates: tuple[dt.date, ...] = ()
    qpm_per_site: int | None = 1_200  # docs/search_console_api.md "Quotas"
    qpm_per_user: int | None = 1_200
    quota_window_seconds: float = 60.0
    quota_error_style: str = "429"
    retry_after_seconds: float | None = None  # Google sends none; set to test clients honour it
    load_quota_seconds: float | None = None
    load_quota_requests: int | None = None
    latency_median_ms: float = 0.0
    latency_p99_ms: float | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 5.0
    token_ttl_seconds: float = 3_600.0
    static_tokens: tuple[str, ...] = ("sim-token",)
    token_failure_rate: float = 0.0
    access: dict[str, tuple[str, ...]] | None = None
    api_disabled: bool = False
    project_number: int = 123456
    # URL Inspection's own quota per property (docs/search_console_api.md "Other endpoints").
    inspection_per_day: int | None = 2_000
    inspection_per_minute: int | None = 600
    # Planted answers: URL -> fields of indexStatusResult to replace (verdict, googleCanonical).
    inspection_overrides: dict[str, dict[str, str]] | None = None
    broken_sitemaps: tuple[str, ...] = ()  # properties whose main sitemap reports errors

    def __post_init__(self) -> None:
        problems = []
        if self.quota_error_style not in QUOTA_STYLES:
            problems.append(f"quota_error_style must be one of {QUOTA_STYLES}")
        for name in ("error_rate", "drop_rate", "slow_rate", "token_failure_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be within [0, 1]")
        if self.error_rate + self.drop_rate > 1.0:
            problems.append("error_rate + drop_rate must not exceed 1")
        if self.hour is not None and not 0 <= self.hour <= 23:
            problems.append("hour must be within 0..23")
        if not 0 <= self.fresh_publish_hour <= 23:
            problems.append("fresh_publish_hour must be within 0..23")
        if self.latency_median_ms < 0 or self.quota_window_seconds <= 0:
            problems.append("latency_median_ms must be >= 0 and quota_window_seconds > 0")
        if problems:
            raise ValueError("invalid SimulatorConfig: " + "; ".join(problems))

    def with_changes(self, changes: dict[str, Any]) -> SimulatorConfig:
        """A copy with `changes` applied; JSON spellings (lists, ISO dates) are converted."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown SimulatorConfig fields: {unknown}")
        return dataclasses.replace(self, **{k: _coerce(k, v) for k, v in changes.items()})


def _coerce(name: str, value: Any) -> Any:
    if name == "today" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if name == "refuse_dates" and isinstance(value, list | tuple):
        return tuple(d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in value)
    if name == "static_tokens" and isinstance(value, list | str):
        return (value,) if isinstance(value, str) else tuple(value)
    if name == "broken_sitemaps" and isinstance(value, list | str):
        return (value,) if isinstance(value, str) else tuple(value)
    if name == "access" and isinstance(value, dict):
        return {identity: tuple(sites) for identity, sites in value.items()}
    if name == "sites" and isinstance(value, list):
        return tuple(s if isinstance(s, SiteSpec) else SiteSpec(**s) for s in value)
    if name == "quota_error_style" and isinstance(value, int):
        return str(value)
    return value
