"""Contract (docs/search_console_api.md "Quotas"): per-site and per-user QPM over a sliding window
of admitted
requests; a refused request costs nothing; the refusal is Google's 429 RESOURCE_EXHAUSTED body
(or the 403 quotaExceeded variant); the load quota answers 403 for a configured time or count;
the stats report the most admitted requests in any window, exactly."""

import datetime as dt

import requests

from gsc_assets.simulator.quota import LoadQuota, QuotaWindows
from gsc_assets.simulator.stats import max_in_window, per_minute

TODAY = dt.date(2025, 6, 15)
BIG_PATH = "/webmasters/v3/sites/https%3A%2F%2Fwww.example.com%2F/searchAnalytics/query"
SMALL_PATH = "/webmasters/v3/sites/sc-domain%3Aexample.org/searchAnalytics/query"
BODY = {"startDate": "2025-06-03", "endDate": "2025-06-03"}
AUTH = {"Authorization": "Bearer sim-token"}


def post(sim, path=BIG_PATH):
    return requests.post(sim.base_url + path, json=BODY, headers=AUTH, timeout=10)


def test_quota_windows_admit_up_to_the_limit_then_refuse():
    windows = QuotaWindows()
    results = [windows.try_admit([("site:a", 3)], now=t, window_seconds=60) for t in (0, 1, 2, 3)]
    assert results == [None, None, None, "site:a"]


def test_quota_windows_slide_and_do_not_count_refusals():
    windows = QuotaWindows()
    for t in (0.0, 10.0):
        assert windows.try_admit([("site:a", 2)], now=t, window_seconds=60) is None
    assert windows.try_admit([("site:a", 2)], now=59.9, window_seconds=60) == "site:a"
    assert windows.try_admit([("site:a", 2)], now=60.0, window_seconds=60) is None
    assert windows.try_admit([("site:a", 2)], now=69.9, window_seconds=60) == "site:a"


def test_quota_windows_need_every_bucket_free_and_none_means_unlimited():
    windows = QuotaWindows()
    assert windows.try_admit([("site:a", None), ("user:u", 1)], now=0, window_seconds=60) is None
    assert (
        windows.try_admit([("site:b", None), ("user:u", 1)], now=1, window_seconds=60) == "user:u"
    )
    assert windows.try_admit([("site:a", 1)], now=2, window_seconds=60) == "site:a"


def test_load_quota_refuses_for_a_count_or_a_duration():
    load = LoadQuota()
    load.arm(now=0.0, requests=2)
    assert [load.exceeded(1.0) for _ in range(3)] == [True, True, False]
    load.arm(now=10.0, seconds=5.0)
    assert load.exceeded(14.9) and not load.exceeded(15.0)


def test_max_in_window_is_exact_over_half_open_windows():
    assert max_in_window([0, 30, 59.9, 60, 61, 200]) == 4  # (0.9, 60.9]: 30, 59.9, 60 ... +61
    assert max_in_window([0, 60, 120]) == 1
    assert max_in_window([]) == 0
    assert per_minute([0.5, 59, 61, 185], origin=0) == [2, 1, 0, 1]


def test_site_quota_answers_google_429_body_and_counts_only_admitted(make_simulator):
    sim = make_simulator(today=TODAY, qpm_per_site=3)
    statuses = [post(sim).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    error = post(sim).json()["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Quota exceeded for quota metric 'Search Analytics queries'")
    assert error["errors"] == [
        {"message": "Rate Limit Exceeded", "domain": "usageLimits", "reason": "rateLimitExceeded"}
    ]
    stats = sim.stats()
    assert stats["accepted_query_requests"] == 3 and stats["query_requests"] == 6
    assert stats["max_accepted_in_any_60s_by_site"] == {"https://www.example.com/": 3}
    assert stats["requests_by_status"] == {"200": 3, "429": 3}


def test_user_quota_spans_all_sites_of_the_credential(make_simulator):
    sim = make_simulator(today=TODAY, qpm_per_site=None, qpm_per_user=3)
    statuses = [post(sim, path).status_code for path in (BIG_PATH, SMALL_PATH) * 2]
    assert statuses == [200, 200, 200, 429]
    assert "per user" in post(sim).json()["error"]["message"]
    assert sim.stats()["max_accepted_in_any_60s_by_user"] == {"sim-token": 3}


def test_quota_window_slides_and_reset_clears_it(make_simulator):
    sim = make_simulator(today=TODAY, qpm_per_site=1, quota_window_seconds=0.3)
    assert [post(sim).status_code for _ in range(2)] == [200, 429]
    sim.reset_stats()
    assert post(sim).status_code == 200
    assert sim.stats()["accepted_query_requests"] == 1


def test_quota_403_style_and_retry_after_header(make_simulator):
    sim = make_simulator(
        today=TODAY, qpm_per_site=1, quota_error_style="403", retry_after_seconds=7
    )
    post(sim)
    refused = post(sim)
    assert refused.status_code == 403 and refused.headers["Retry-After"] == "7"
    error = refused.json()["error"]
    assert error["message"] == "Search Analytics QPS quota exceeded"
    assert error["errors"][0]["reason"] == "quotaExceeded"


def test_load_quota_answers_403_for_the_configured_number_of_requests(make_simulator):
    sim = make_simulator(today=TODAY)
    sim.configure(load_quota_requests=2)
    answers = [post(sim) for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 200]
    assert (
        answers[0]
        .json()["error"]["message"]
        .startswith("Search Analytics load quota exceeded. Please wait 15 minutes")
    )
    assert sim.stats()["accepted_query_requests"] == 1
