"""Fault injection through the real Dagster assets against the simulator over HTTP.

Contract: with 5xx answers, dropped connections, responses slower than the client timeout, 429
and 403 quota storms, a flaky token endpoint, tokens that expire mid-run and a load-quota error,
a run still completes within a bounded time, the warehouse equals the simulator row for row for
every synced date, and the materialization metadata reports the retries it took.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from gsc_assets.simulator import Simulator
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.builders import service_account_key, write_key_file
from gsc_assets_tests.reliability.harness import (
    SMALL_SITES,
    SYNC_TABLES,
    assert_warehouse_exact,
    materialize,
    recent_dates,
    run_env,
    step_metadata,
)

RUN_TIME_LIMIT_SECONDS = 90.0
log = logging.getLogger(__name__)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


def fault_env(sim: Simulator, url: str, **overrides: str) -> dict[str, str]:
    return run_env(
        sim,
        url,
        GSC_REQUEST_TIMEOUT_SECONDS="1",
        GSC_MAX_ATTEMPTS="30",
        GSC_LOAD_QUOTA_COOLOFF_SECONDS="1",
        **overrides,
    )


def key_file_env(sim: Simulator, url: str, tmp_path) -> dict[str, str]:
    key = write_key_file(tmp_path, service_account_key(sim.token_uri))
    return fault_env(sim, url, GSC_ACCESS_TOKEN="", GOOGLE_APPLICATION_CREDENTIALS=str(key))


def run_and_verify(sim: Simulator, env: dict[str, str], dates: int) -> tuple[dict, float]:
    """Materialize, check the warehouse exactly; return summed metadata counters and seconds."""
    first, last = recent_dates(dates)
    started = time.monotonic()
    result = materialize(env, first, last)
    elapsed = time.monotonic() - started
    assert result.success
    assert elapsed < RUN_TIME_LIMIT_SECONDS
    engine = make_engine(env["GSC_DATABASE_URL"])
    try:
        assert assert_warehouse_exact(sim, engine, first, last) > 0
    finally:
        engine.dispose()
    totals: dict[str, int] = {}
    for table in SYNC_TABLES:
        metadata = step_metadata(result, table)
        # The run's own numbers (each partition also carries its date's requests and retries).
        for name in ("requests", "retries", "throttled", "load_quota_pauses", "token_refreshes"):
            key = f"run_{name}" if name in ("requests", "retries") else name
            totals[name] = totals.get(name, 0) + int(metadata[key])
    log.info("elapsed %.1fs, %s, simulator %s", elapsed, totals, sim.stats()["requests_by_status"])
    return totals, elapsed


def test_server_errors_drops_and_slow_answers_are_retried_to_exact_data(make_simulator, sqlite_url):
    sim = make_simulator(
        sites=SMALL_SITES,
        seed=11,
        error_rate=0.10,
        drop_rate=0.05,
        slow_rate=0.02,
        slow_seconds=2.5,
    )
    totals, _ = run_and_verify(sim, fault_env(sim, sqlite_url), dates=10)
    statuses = sim.stats()["requests_by_status"]
    assert statuses.get("500", 0) + statuses.get("503", 0) > 0
    assert totals["retries"] > 0
    assert totals["requests"] > totals["retries"]  # every retry was one more request


@pytest.mark.parametrize("style", ["429", "403"])
def test_quota_storm_far_below_the_budget_is_absorbed_with_exact_data(
    make_simulator, sqlite_url, style
):
    # Google grants 4 queries per 2 s while the budget says 960 per minute (32 per 2 s).
    sim = make_simulator(
        sites=SMALL_SITES,
        seed=12,
        qpm_per_site=4,
        qpm_per_user=6,
        quota_window_seconds=2.0,
        quota_error_style=style,
    )
    totals, _ = run_and_verify(sim, fault_env(sim, sqlite_url, GSC_QPM_BUDGET="960"), dates=4)
    statuses = sim.stats()["requests_by_status"]
    assert statuses.get(style, 0) > 0
    assert totals["throttled"] > 0
    assert totals["retries"] >= totals["throttled"]


def test_token_endpoint_failing_transiently_is_retried(make_simulator, sqlite_url, tmp_path):
    sim = make_simulator(sites=SMALL_SITES, seed=13, token_failure_rate=1.0)
    heal = threading.Timer(1.5, lambda: sim.configure(token_failure_rate=0.0))
    heal.start()
    try:
        totals, _elapsed = run_and_verify(sim, key_file_env(sim, sqlite_url, tmp_path), dates=3)
    finally:
        heal.cancel()
    assert sim.stats()["requests_by_status"].get("503", 0) > 0  # the token endpoint's answers
    assert totals["retries"] > 0


def expire_issued_tokens(sim: Simulator) -> int:
    """Make every access token the simulator issued so far expire now (server side only)."""
    registry = sim.app.tokens
    with registry._lock:  # the simulator has no public revocation endpoint
        for token, (identity, _expiry) in list(registry._tokens.items()):
            registry._tokens[token] = (identity, 0.0)
        return len(registry._tokens)


def test_token_expiring_mid_run_is_refreshed_and_the_request_retried(
    make_simulator, sqlite_url, tmp_path
):
    sim = make_simulator(sites=SMALL_SITES, seed=14, latency_median_ms=40.0)
    expired = threading.Event()

    def expire_after_some_queries() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not expired.is_set():
            # Mid-run: the run makes 13 queries (packed requests, totals shared in the run).
            if sim.stats()["query_requests"] >= 6 and expire_issued_tokens(sim):
                expired.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=expire_after_some_queries, daemon=True)
    watcher.start()
    totals, _ = run_and_verify(sim, key_file_env(sim, sqlite_url, tmp_path), dates=8)
    watcher.join(timeout=5)
    assert expired.is_set()
    assert sim.stats()["requests_by_status"].get("401", 0) > 0
    assert totals["token_refreshes"] > 0
    assert sim.stats()["token_requests"] >= 2


def test_load_quota_pauses_the_site_for_the_cooloff_then_completes(make_simulator, sqlite_url):
    sim = make_simulator(sites=SMALL_SITES, seed=15)
    sim.configure(load_quota_seconds=2.0)  # armed from now: 2 s of 403 "wait 15 minutes"
    totals, elapsed = run_and_verify(sim, fault_env(sim, sqlite_url), dates=3)
    assert sim.stats()["requests_by_status"].get("403", 0) > 0
    assert totals["load_quota_pauses"] > 0
    assert totals["retries"] >= totals["load_quota_pauses"]
    assert elapsed >= 1.0  # the cool-off was honoured, not skipped
