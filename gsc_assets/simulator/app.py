"""The simulator's behaviour behind HTTP: routing, auth, quota, faults and the three API methods.

`SimulatorApp.handle()` takes a parsed request and returns an `Answer`; the HTTP server only moves
bytes. Order per API call, as Google's front end does it: authenticate (401), API enabled (403),
site permission (403), load quota (403), per-site/per-user QPM (429 or 403), injected faults,
then body validation (400) and the data. Only QPM-admitted queries count as accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote

from gsc_assets.simulator import envelopes, freshness, inventory
from gsc_assets.simulator.auth import OAuthError, TokenRegistry, bearer_token, identity_for_grant
from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.faults import FaultInjector
from gsc_assets.simulator.quota import LoadQuota, QuotaWindows
from gsc_assets.simulator.request import BadRequestError, parse_query
from gsc_assets.simulator.routing import Answer, json_answer, route
from gsc_assets.simulator.service import SearchAnalytics
from gsc_assets.simulator.stats import StatsRecorder

logger = logging.getLogger(__name__)


class SimulatorApp:
    """All simulator state; thread-safe."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self.service = SearchAnalytics(config.seed, config.sites, now=self.now)
        self.quota, self.load_quota = QuotaWindows(), LoadQuota()
        self.inspections: Counter[str] = Counter()  # URL inspections answered, per property
        self.faults = FaultInjector(config.seed)
        self.stats = StatsRecorder(time.monotonic())
        self.tokens = TokenRegistry()
        self._arm_load_quota(config)

    @property
    def config(self) -> SimulatorConfig:
        """The configuration in force."""
        with self._lock:
            return self._config

    def today(self) -> dt.date:
        """The simulated current date (Pacific Time)."""
        return self.config.today or freshness.pacific_today()

    def published_through(self) -> dt.date:
        """The newest date with any data: today once `fresh_publish_hour` has begun."""
        today = self.today()
        if self.now().hour < self.config.fresh_publish_hour:
            return today - dt.timedelta(days=1)
        return today

    def now(self) -> dt.datetime:
        """The simulated current time (Pacific): `today` at `hour`, each defaulting to the clock."""
        config = self.config
        clock = dt.datetime.now(freshness.PACIFIC)
        if config.today is None and config.hour is None:
            return clock
        hour = clock.hour if config.hour is None else config.hour
        return dt.datetime.combine(self.today(), dt.time(hour), freshness.PACIFIC)

    def configure(self, changes: dict[str, Any]) -> SimulatorConfig:
        """Apply a partial configuration; data is regenerated only if seed or sites change."""
        with self._lock:
            self._config = self._config.with_changes(changes)
            config = self._config
            if {"seed", "sites"} & set(changes):
                self.service = SearchAnalytics(config.seed, config.sites, now=self.now)
        self._arm_load_quota(config, only=changes)
        return config

    def _arm_load_quota(
        self, config: SimulatorConfig, only: Mapping[str, Any] | None = None
    ) -> None:
        seconds = (
            config.load_quota_seconds if only is None or "load_quota_seconds" in only else None
        )
        requests = (
            config.load_quota_requests if only is None or "load_quota_requests" in only else None
        )
        self.load_quota.arm(now=time.monotonic(), seconds=seconds, requests=requests)

    def reset(self) -> None:
        """Forget statistics and quota windows."""
        self.stats.reset(time.monotonic())
        self.quota.reset()
        self.inspections.clear()

    def handle(
        self, method: str, path: str, headers: Mapping[str, str] | Message[str, str], body: bytes
    ) -> Answer:
        """Serve one non-admin request, recording it in the statistics."""
        received = time.monotonic()
        kind, site = route(method, path)
        self.stats.started(is_query=kind == "query", is_token=kind == "token")
        answer = Answer(500)
        try:
            answer = self._serve(kind, site, path, headers, body, received)
        except Exception:  # a simulator bug must answer 500, not look like a dropped connection
            logger.exception("simulator failed on %s %s", method, path)
            answer = json_answer(500, envelopes.server_error(500))
        finally:
            self.stats.finished("dropped" if answer.drop else str(answer.status), answer.rows)
        return answer

    def _serve(
        self,
        kind: str,
        site: str | None,
        path: str,
        headers: Mapping[str, str] | Message[str, str],
        body: bytes,
        received: float,
    ) -> Answer:
        config = self.config
        if kind == "token":
            return self._token(config, body)
        if kind == "none":
            return json_answer(404, envelopes.not_found(path))
        token = bearer_token(headers.get("Authorization"))
        identity = self.tokens.identity(token, config.static_tokens) if token else None
        if identity is None:
            return json_answer(
                401, envelopes.unauthenticated(), **{"WWW-Authenticate": envelopes.WWW_AUTHENTICATE}
            )
        if config.api_disabled:
            return json_answer(403, envelopes.api_disabled(config.project_number))
        visible = self._visible_sites(config, identity)
        if kind == "list_sites":
            return self._after_faults(
                config,
                lambda: json_answer(
                    200,
                    {
                        "siteEntry": [
                            {"siteUrl": s, "permissionLevel": "siteOwner"} for s in visible
                        ]
                    },
                ),
            )
        if kind == "inspect":
            return self._after_faults(
                config,
                lambda: inventory.serve_inspection(
                    config, body, visible, received, self.quota, self.inspections, self.today()
                ),
            )
        site_url = unquote(site or "")
        if site_url not in visible:
            return json_answer(403, envelopes.permission_denied(site_url))
        if kind == "get_site":
            return self._after_faults(
                config,
                lambda: json_answer(200, {"siteUrl": site_url, "permissionLevel": "siteOwner"}),
            )
        if kind == "list_sitemaps":
            return self._after_faults(
                config, lambda: inventory.serve_sitemaps(config, site_url, self.today())
            )
        refused = self._refuse_by_quota(config, site_url, identity, received)
        if refused is not None:
            return refused
        self.stats.accepted(site_url, identity, received)
        return self._after_faults(config, lambda: self._query(site_url, body))

    def _visible_sites(self, config: SimulatorConfig, identity: str) -> list[str]:
        sites = [spec.site_url for spec in config.sites]
        if config.access is None:
            return sites
        allowed = set(config.access.get(identity, ()))
        return [s for s in sites if s in allowed]

    def _refuse_by_quota(
        self, config: SimulatorConfig, site_url: str, identity: str, received: float
    ) -> Answer | None:
        retry = (
            {"Retry-After": f"{config.retry_after_seconds:g}"}
            if config.retry_after_seconds is not None
            else {}
        )
        if self.load_quota.exceeded(received):
            return json_answer(403, envelopes.load_quota_403(), **retry)
        full = self.quota.try_admit(
            [(f"site:{site_url}", config.qpm_per_site), (f"user:{identity}", config.qpm_per_user)],
            received,
            config.quota_window_seconds,
        )
        if full is None:
            return None
        if config.quota_error_style == "403":
            return json_answer(403, envelopes.qps_quota_403(), **retry)
        limit = (
            "Queries per minute per site"
            if full.startswith("site:")
            else ("Queries per minute per user")
        )
        return json_answer(429, envelopes.rate_limited(config.project_number, limit), **retry)

    def _after_faults(self, config: SimulatorConfig, produce: Any) -> Answer:
        plan = self.faults.plan(
            latency_median_ms=config.latency_median_ms,
            latency_p99_ms=config.latency_p99_ms,
            error_rate=config.error_rate,
            drop_rate=config.drop_rate,
            slow_rate=config.slow_rate,
            slow_seconds=config.slow_seconds,
        )
        if plan.delay_seconds > 0:
            time.sleep(plan.delay_seconds)
        if plan.outcome == "drop":
            return Answer(0, drop=True)
        if plan.outcome.startswith("error"):
            code = int(plan.outcome.removeprefix("error"))
            return json_answer(code, envelopes.server_error(code))
        answer: Answer = produce()
        return answer

    def _query(self, site_url: str, body: bytes) -> Answer:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return json_answer(
                400, envelopes.bad_request("Invalid JSON payload received. Unexpected token.")
            )
        try:
            spec = parse_query(payload)
        except BadRequestError as exc:
            return json_answer(400, envelopes.bad_request(str(exc)))
        refused = [d for d in self.config.refuse_dates if spec.start_date <= d <= spec.end_date]
        if refused:
            message = f"Request refused for {refused[0].isoformat()} (simulated refusal)."
            return json_answer(400, envelopes.bad_request(message))
        body, page_rows = self.service.page(
            site_url, spec, self.today(), published_through=self.published_through()
        )
        return Answer(200, body, rows=page_rows)

    def _token(self, config: SimulatorConfig, body: bytes) -> Answer:
        if self.faults.chance(config.token_failure_rate):
            return json_answer(
                503,
                {
                    "error": "temporarily_unavailable",
                    "error_description": "The service is currently unavailable.",
                },
            )
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            identity = identity_for_grant(form, time.time())
        except OAuthError as exc:
            return json_answer(400, exc.body())
        token = self.tokens.issue(identity, config.token_ttl_seconds)
        return json_answer(
            200,
            {
                "access_token": token,
                "expires_in": int(config.token_ttl_seconds),
                "token_type": "Bearer",
            },
        )
