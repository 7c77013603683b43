"""Contract: injected latency follows the configured median/p99, faults are reproducible for a
seed, and over HTTP an error is Google's 500/503 envelope, a drop is a closed connection without
an answer, and a slow answer trips a client's read timeout."""

import datetime as dt
import math
import statistics
import time

import pytest
import requests

from gsc_assets.simulator.faults import FaultInjector, lognormal_parameters

TODAY = dt.date(2025, 6, 15)
PATH = "/webmasters/v3/sites/sc-domain%3Aexample.org/searchAnalytics/query"
BODY = {"startDate": "2025-06-03", "endDate": "2025-06-03"}
AUTH = {"Authorization": "Bearer sim-token"}


def plans(seed, n=2000, **rates):
    injector = FaultInjector(seed)
    settings = {
        "latency_median_ms": 0.0,
        "latency_p99_ms": None,
        "error_rate": 0.0,
        "drop_rate": 0.0,
        "slow_rate": 0.0,
        "slow_seconds": 1.0,
        **rates,
    }
    return [injector.plan(**settings) for _ in range(n)]


def test_lognormal_parameters_reproduce_median_and_p99():
    mu, sigma = lognormal_parameters(100.0, 800.0)
    assert math.exp(mu) == pytest.approx(0.1)
    assert math.exp(mu + 2.3263 * sigma) == pytest.approx(0.8)


def test_latency_draws_have_the_configured_median():
    delays = [p.delay_seconds for p in plans(1, latency_median_ms=50.0, latency_p99_ms=200.0)]
    assert statistics.median(delays) == pytest.approx(0.05, rel=0.1)


def test_fault_plans_are_reproducible_for_a_seed_and_follow_the_rates():
    first = plans(3, error_rate=0.2, drop_rate=0.1)
    assert first == plans(3, error_rate=0.2, drop_rate=0.1)
    outcomes = [p.outcome for p in first]
    assert outcomes.count("drop") / len(outcomes) == pytest.approx(0.1, abs=0.03)
    errors = sum(o.startswith("error") for o in outcomes) / len(outcomes)
    assert errors == pytest.approx(0.2, abs=0.03)
    assert {"error500", "error503"} <= set(outcomes)


def test_error_rate_answers_google_server_error_envelopes(make_simulator):
    sim = make_simulator(today=TODAY, error_rate=1.0)
    answers = [
        requests.post(sim.base_url + PATH, json=BODY, headers=AUTH, timeout=5) for _ in range(8)
    ]
    assert {a.status_code for a in answers} == {500, 503}
    statuses = {a.json()["error"]["status"] for a in answers}
    assert statuses == {"INTERNAL", "UNAVAILABLE"}


def test_drop_rate_closes_the_connection_without_an_answer(make_simulator):
    sim = make_simulator(today=TODAY, drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.post(sim.base_url + PATH, json=BODY, headers=AUTH, timeout=5)
    assert sim.stats()["requests_by_status"] == {"dropped": 1}


def test_slow_answers_trip_a_client_read_timeout(make_simulator):
    sim = make_simulator(today=TODAY, slow_rate=1.0, slow_seconds=0.6)
    with pytest.raises(requests.ReadTimeout):
        requests.post(sim.base_url + PATH, json=BODY, headers=AUTH, timeout=0.2)


def test_configured_latency_delays_answers(make_simulator):
    sim = make_simulator(today=TODAY)
    sim.configure(latency_median_ms=80.0, latency_p99_ms=81.0)
    started = time.perf_counter()
    assert requests.post(sim.base_url + PATH, json=BODY, headers=AUTH, timeout=5).ok
    assert time.perf_counter() - started >= 0.07


def test_token_failure_rate_fails_token_requests(make_simulator):
    sim = make_simulator(token_failure_rate=1.0)
    answer = requests.post(sim.token_uri, data={"grant_type": "refresh_token"}, timeout=5)
    assert answer.status_code in (500, 503)
