"""Contract: over real HTTP the simulator answers like Search Console: sites and permissions,
401/403 envelopes, offset paging whose concatenation equals `expected_rows`, an empty page without
`rows`, fresh data only with dataState=all (plus metadata), restated days, tokens for google-auth's
service-account and refresh-token flows, and the admin endpoints."""

import base64
import datetime as dt
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import google.auth.transport.requests
import google.oauth2.credentials
import google.oauth2.service_account
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TODAY = dt.date(2025, 6, 15)
DAY = dt.date(2025, 6, 3)
BIG, SMALL = "https://www.example.com/", "sc-domain:example.org"
AUTH = {"Authorization": "Bearer sim-token"}
SCOPE = "https://www.googleapis.com/auth/webmasters.readonly"


def query_url(sim, site):
    return f"{sim.base_url}/webmasters/v3/sites/{quote(site, safe='')}/searchAnalytics/query"


def post(sim, site=SMALL, headers=AUTH, day=DAY, **body):
    payload = {"startDate": day.isoformat(), "endDate": day.isoformat(), **body}
    return requests.post(query_url(sim, site), json=payload, headers=headers, timeout=30)


def fetch_all(sim, site, dimensions, **body):
    rows, start, pages = [], 0, []
    while True:
        answer = post(sim, site, dimensions=dimensions, rowLimit=25_000, startRow=start, **body)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        if "rows" not in answer.json():
            return rows, pages
        for row in answer.json()["rows"]:
            keys = tuple(row.get("keys", ()))
            rows.append((*keys, row["clicks"], row["impressions"], row["ctr"], row.get("position")))
        start += 25_000


@pytest.fixture
def sim(make_simulator):
    return make_simulator(today=TODAY)


def test_sites_list_and_get_site_show_every_property(simulator):
    listed = requests.get(f"{simulator.base_url}/webmasters/v3/sites", headers=AUTH, timeout=5)
    assert listed.json() == {
        "siteEntry": [
            {"siteUrl": BIG, "permissionLevel": "siteOwner"},
            {"siteUrl": SMALL, "permissionLevel": "siteOwner"},
        ]
    }
    one = requests.get(
        f"{simulator.base_url}/webmasters/v3/sites/{quote(SMALL, safe='')}", headers=AUTH, timeout=5
    )
    assert one.json() == {"siteUrl": SMALL, "permissionLevel": "siteOwner"}


def test_same_paths_work_under_any_base_url(simulator):
    url = f"{simulator.base_url}/some/prefix/webmasters/v3/sites"
    assert requests.get(url, headers=AUTH, timeout=5).status_code == 200


def test_missing_trailing_slash_is_a_permission_403(simulator):
    answer = post(simulator, "https://www.example.com")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["message"] == (
        "User does not have sufficient permission for site 'https://www.example.com'. "
        "See also: https://support.google.com/webmasters/answer/2451999."
    )
    assert (error["status"], error["errors"][0]["reason"]) == ("PERMISSION_DENIED", "forbidden")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "x"}])
def test_bad_credentials_get_401_with_www_authenticate(simulator, headers):
    answer = post(simulator, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    )
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_access_map_limits_what_an_identity_sees(make_simulator):
    sim = make_simulator(today=TODAY, static_tokens=("a", "b"), access={"a": (SMALL,)})
    assert post(sim, SMALL, headers={"Authorization": "Bearer a"}).status_code == 200
    assert post(sim, BIG, headers={"Authorization": "Bearer a"}).status_code == 403
    assert post(sim, SMALL, headers={"Authorization": "Bearer b"}).status_code == 403
    listed = requests.get(
        f"{sim.base_url}/webmasters/v3/sites", headers={"Authorization": "Bearer a"}, timeout=5
    ).json()
    assert [e["siteUrl"] for e in listed["siteEntry"]] == [SMALL]


def test_disabled_api_answers_access_not_configured(make_simulator):
    answer = post(make_simulator(api_disabled=True))
    error = answer.json()["error"]
    assert answer.status_code == 403 and error["errors"][0]["reason"] == "accessNotConfigured"
    assert "has not been used in project 123456 before or it is disabled" in error["message"]


def test_paging_concatenates_to_expected_rows_and_ends_with_an_empty_page(sim):
    rows, pages = fetch_all(sim, BIG, ["date", "page", "query"])
    assert len(rows) == 50_000 and len(pages) == 3
    assert pages[-1] == {"responseAggregationType": "byPage"}
    assert rows == sim.expected_rows(BIG, DAY, "web", ("date", "page", "query"), "byPage")


def test_page_rows_over_http_sum_to_the_by_page_totals(sim):
    rows, _ = fetch_all(sim, BIG, ["date", "page"])
    clicks, impressions, _ctr, _position = sim.totals(BIG, DAY, "web", "byPage")
    assert (sum(r[2] for r in rows), sum(r[3] for r in rows)) == (clicks, impressions)
    assert sim.totals(BIG, DAY, "web", "byProperty")[1] < impressions


def test_no_dimensions_returns_one_row_without_keys(simulator):
    day = simulator.today() - dt.timedelta(days=5)
    (row,) = post(simulator, day=day).json()["rows"]
    assert set(row) == {"clicks", "impressions", "ctr", "position"}


def test_bad_requests_get_google_invalid_argument_envelope(simulator):
    answer = post(simulator, type="discover", dimensions=["query"])
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["status"], error["errors"][0]["reason"]) == (
        400,
        "INVALID_ARGUMENT",
        "badRequest",
    )
    malformed = requests.post(query_url(simulator, SMALL), data=b"{", headers=AUTH, timeout=5)
    assert malformed.status_code == 400


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # The doubtful forms Google refuses (an independent emulator from Google's docs did):
        (
            {"type": "googleNews", "aggregationType": "byProperty", "dimensions": ["date"]},
            "Aggregation by property is not supported for googleNews.",
        ),
        (
            {"dimensions": ["date", "searchAppearance"]},
            "When grouping by searchAppearance you cannot group by any other dimension",
        ),
        (
            {"type": "image", "dimensions": ["hour"], "dataState": "hourly_all"},
            "does not support the hour dimension",
        ),
        (
            {
                "type": "googleNews",
                "dimensionFilterGroups": [{"filters": [{"dimension": "query", "expression": "x"}]}],
            },
            "does not support filtering by query",
        ),
    ],
)
def test_requests_google_refuses_are_refused_with_googles_words(simulator, body, words):
    answer = post(simulator, **body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]["message"]


def test_search_appearance_grouped_alone_answers_one_day(simulator):
    day = simulator.today() - dt.timedelta(days=5)
    answer = post(simulator, day=day, dimensions=["searchAppearance"], aggregationType="byProperty")
    assert answer.status_code == 200, answer.text
    keys = [row["keys"] for row in answer.json()["rows"]]
    assert keys and all(len(k) == 1 for k in keys)


def test_fresh_days_appear_only_with_data_state_all_and_carry_metadata(sim):
    fresh = TODAY - dt.timedelta(days=1)
    assert "rows" not in post(sim, day=fresh, dimensions=["date"]).json()
    body = post(sim, day=fresh, dimensions=["date"], dataState="all").json()
    assert body["metadata"] == {"first_incomplete_date": "2025-06-13"}
    partial_impressions = body["rows"][0]["impressions"]
    assert "metadata" not in post(sim, dimensions=["date"], dataState="all").json()
    sim.configure(today=TODAY + dt.timedelta(days=5))
    final = post(sim, day=fresh, dimensions=["date"]).json()["rows"][0]["impressions"]
    assert final > partial_impressions
    assert (
        final
        == post(sim, day=fresh, dimensions=["date"], dataState="all").json()["rows"][0][
            "impressions"
        ]
    )


def test_dates_older_than_sixteen_months_return_nothing(sim):
    assert "rows" not in post(sim, day=dt.date(2024, 2, 14), dimensions=["date"]).json()
    assert "rows" in post(sim, day=dt.date(2024, 2, 15), dimensions=["date"]).json()


def test_mutate_day_restates_pages_and_numbers(sim):
    before = sim.expected_rows(SMALL, DAY, "web", ("date", "page"), "byPage")
    assert sim.mutate_day(SMALL, DAY) == 1
    rows, _ = fetch_all(sim, SMALL, ["date", "page"])
    assert rows == sim.expected_rows(SMALL, DAY, "web", ("date", "page"), "byPage")
    assert {r[1] for r in rows} != {r[1] for r in before}
    assert sim.expected_rows(SMALL, DAY, "image", ("date", "page"), "byPage") == sim.expected_rows(
        SMALL, DAY, "image", ("date", "page"), "byPage"
    )


def test_same_seed_gives_identical_answers(make_simulator):
    first, second = make_simulator(today=TODAY), make_simulator(today=TODAY)
    body = {"dimensions": ["page", "query"], "rowLimit": 500}
    assert post(first, **body).content == post(second, **body).content


def service_account_info(token_uri):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "sim",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "robot@sim.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }


def test_service_account_flow_gets_a_token_that_the_api_accepts(sim):
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        service_account_info(sim.token_uri), scopes=[SCOPE]
    )
    credentials.refresh(google.auth.transport.requests.Request())
    assert credentials.token and credentials.expiry is not None
    answer = post(sim, headers={"Authorization": f"Bearer {credentials.token}"})
    assert answer.status_code == 200
    assert "robot@sim.iam.gserviceaccount.com" in sim.stats()["max_accepted_in_any_60s_by_user"]


def test_refresh_token_flow_uses_client_id_as_identity(sim):
    credentials = google.oauth2.credentials.Credentials(
        token=None, refresh_token="r", client_id="cid", client_secret="s", token_uri=sim.token_uri
    )
    credentials.refresh(google.auth.transport.requests.Request())
    assert post(sim, headers={"Authorization": f"Bearer {credentials.token}"}).ok
    assert sim.stats()["max_accepted_in_any_60s_by_user"] == {"cid": 1}


def test_token_endpoint_rejects_a_jwt_without_webmasters_scope(sim):
    payload = base64.urlsafe_b64encode(json.dumps({"iss": "x", "scope": "email"}).encode())
    assertion = f"e30.{payload.decode().rstrip('=')}.sig"
    answer = requests.post(
        sim.token_uri,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_issued_tokens_expire(make_simulator):
    sim = make_simulator(today=TODAY, token_ttl_seconds=0.3)
    token = requests.post(
        sim.token_uri,
        data={
            "grant_type": "refresh_token",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": "r",
        },
        timeout=5,
    ).json()["access_token"]
    assert post(sim, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(0.35)
    assert post(sim, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_endpoints_configure_mutate_report_and_reset(sim):
    config = requests.post(f"{sim.base_url}/_sim/config", json={"qpm_per_site": 1}, timeout=5)
    assert config.json()["qpm_per_site"] == 1
    assert [post(sim).status_code for _ in range(2)] == [200, 429]
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    assert stats["requests_by_status"] == {"200": 1, "429": 1}
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    assert sim.stats()["requests_total"] == 0 and post(sim).status_code == 200
    mutated = requests.post(
        f"{sim.base_url}/_sim/mutate",
        timeout=5,
        json={"site_url": SMALL, "date": DAY.isoformat(), "search_type": "web"},
    )
    assert mutated.json() == {"revision": 1}
    bad = requests.post(f"{sim.base_url}/_sim/config", json={"nope": 1}, timeout=5)
    assert bad.status_code == 400


def test_stats_time_the_first_query_and_the_last_answer_on_the_wall_clock(sim):
    assert sim.stats()["first_query_received_at"] is None
    before = time.time()
    post(sim)
    middle = time.time()
    post(sim)
    after = time.time()
    stats = sim.stats()
    assert before <= stats["first_query_received_at"] <= middle
    assert middle <= stats["last_answer_ready_at"] <= after


def test_keep_alive_serves_several_requests_on_one_connection(simulator):
    connection = http.client.HTTPConnection("127.0.0.1", simulator.port, timeout=5)
    for _ in range(3):
        connection.request("GET", "/webmasters/v3/sites", headers=AUTH)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["siteEntry"]
    connection.close()


def test_concurrent_clients_are_served_in_parallel(make_simulator):
    sim = make_simulator(today=TODAY, latency_median_ms=20.0, latency_p99_ms=40.0)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: post(sim).status_code, range(64)))
    assert statuses == [200] * 64
    stats = sim.stats()
    assert stats["peak_concurrency"] > 1 and stats["max_accepted_in_any_60s"] == 64
