"""Contract: SearchConsoleClient makes ONE HTTP call per method and maps every outcome once.

- `query` POSTs `request.body()` to `/webmasters/v3/sites/{quote(site, safe="")}/searchAnalytics
  /query` and returns row tuples `(*keys, clicks, impressions, ctr, position|None)`;
- it never retries (no urllib3 retries, no pagination), never sleeps;
- statuses, transport failures and malformed 2xx bodies become the classes of errors.py with
  messages naming the site, the dates, Google's words and the fix; a 401 invalidates the token.
Everything is real HTTP: the simulator for what Search Console does, and a scripted stdlib
server (builders.StubServer) for bytes no simulator sends (HTML 502, truncated JSON, ...).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import threading
import time

import pytest

from gsc_assets.reports.vocabulary import AggregationType, DataState, Dimension, SearchType
from gsc_assets.search_console import errors
from gsc_assets.search_console.client import SearchConsoleClient, SiteEntry
from gsc_assets.search_console.credentials import StaticTokenProvider, load_token_provider
from gsc_assets.search_console.models import QueryRequest
from gsc_assets_tests.builders import (
    SERVICE_ACCOUNT_EMAIL,
    Reply,
    service_account_key,
    stub_server,
    write_key_file,
)

URL_PREFIX_SITE = "https://www.example.com/"
DOMAIN_SITE = "sc-domain:example.org"
DAY = dt.date(2024, 3, 1)
PAGE_DIMS = (Dimension.DATE, Dimension.PAGE)


class RecordingTokens:
    """A TokenProvider that counts invalidations (the client's only side effect on tokens)."""

    identity = "token:recording"

    def __init__(self, token: str = "sim-token") -> None:
        self.token = token
        self.invalidations = 0

    def authorization_header(self) -> str:
        return f"Bearer {self.token}"

    def invalidate(self) -> None:
        self.invalidations += 1


def page_request(site: str = URL_PREFIX_SITE, day: dt.date = DAY, **changes) -> QueryRequest:
    fields = {"dimensions": PAGE_DIMS, "aggregation_type": AggregationType.BY_PAGE, **changes}
    return QueryRequest(site_url=site, start_date=day, end_date=day, **fields)


def stub_client(stub, tokens=None, **kwargs) -> SearchConsoleClient:
    return SearchConsoleClient(stub.base_url, tokens or RecordingTokens(), **kwargs)


def row(keys, clicks=3.0, impressions=40.0, ctr=0.075, position=2.5) -> dict:
    out = {"keys": keys, "clicks": clicks, "impressions": impressions, "ctr": ctr}
    if position is not None:
        out["position"] = position
    return out


# --- requests on the wire -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "encoded"),
    [
        (URL_PREFIX_SITE, "https%3A%2F%2Fwww.example.com%2F"),
        (DOMAIN_SITE, "sc-domain%3Aexample.org"),
    ],
)
def test_query_posts_the_body_to_the_site_as_one_encoded_path_segment(site, encoded):
    with stub_server(Reply(200, {})) as stub, stub_client(stub, user_agent="ua/1") as client:
        request = page_request(site)
        page = client.query(request)
    assert page.rows == []
    (received,) = stub.received
    assert received.method == "POST"
    assert received.path == f"/webmasters/v3/sites/{encoded}/searchAnalytics/query"
    assert json.loads(received.body) == request.body()
    assert received.headers["Authorization"] == "Bearer sim-token"
    assert received.headers["User-Agent"] == "ua/1"


def test_query_is_one_call_even_when_the_page_is_full():
    full = {"rows": [row([DAY.isoformat(), f"https://www.example.com/{i}"]) for i in range(10)]}
    with stub_server(Reply(200, full)) as stub, stub_client(stub) as client:
        page = client.query(page_request(row_limit=10))
    assert len(page.rows) == 10
    assert len(stub.received) == 1


def test_sites_endpoints_encode_the_site_and_parse_entries():
    entries = {
        "siteEntry": [
            {"siteUrl": URL_PREFIX_SITE, "permissionLevel": "siteOwner"},
            {"siteUrl": DOMAIN_SITE, "permissionLevel": "siteFullUser"},
        ]
    }

    def answer(received):
        if received.path == "/webmasters/v3/sites":
            return Reply(200, entries)
        return Reply(200, {"siteUrl": DOMAIN_SITE, "permissionLevel": "siteFullUser"})

    with stub_server(answer) as stub, stub_client(stub) as client:
        assert client.list_sites() == [
            SiteEntry(URL_PREFIX_SITE, "siteOwner"),
            SiteEntry(DOMAIN_SITE, "siteFullUser"),
        ]
        assert client.get_site(DOMAIN_SITE) == SiteEntry(DOMAIN_SITE, "siteFullUser")
    assert stub.received[1].path == "/webmasters/v3/sites/sc-domain%3Aexample.org"


def test_list_sites_of_an_account_without_properties_is_empty():
    with stub_server(Reply(200, {})) as stub, stub_client(stub) as client:
        assert client.list_sites() == []


def test_pool_size_is_honoured_and_urllib3_never_retries():
    with stub_server(Reply(200, {})) as stub, stub_client(stub, pool_size=7) as client:
        adapter = client._session.get_adapter(stub.base_url)
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 7
        assert adapter.max_retries.total == 0


def concurrent_queries(client, count: int) -> None:
    threads = [threading.Thread(target=client.query, args=(page_request(),)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize(("pool_size", "expect_reuse"), [(4, True), (2, False)])
def test_pool_keeps_pool_size_connections_alive(pool_size, expect_reuse):
    with (
        stub_server(Reply(200, {}, delay_seconds=0.2)) as stub,
        stub_client(stub, pool_size=pool_size) as client,
    ):
        concurrent_queries(client, 4)
        concurrent_queries(client, 4)
    connections = len({r.client_port for r in stub.received})
    if expect_reuse:
        assert connections == 4
    else:
        assert connections > 4, "only pool_size connections are kept; the rest are reopened"


# --- parsing ------------------------------------------------------------------------------


def test_rows_become_tuples_with_float_metrics_and_optional_position():
    body = {
        "rows": [
            row([DAY.isoformat(), "https://www.example.com/a"], 12, 340, 0.0353, 4.2),
            row([DAY.isoformat(), "https://www.example.com/b"], 0, 7, 0, None),
        ],
        "responseAggregationType": "byPage",
    }
    with stub_server(Reply(200, body)) as stub, stub_client(stub) as client:
        page = client.query(page_request())
    assert page.rows == [
        ("2024-03-01", "https://www.example.com/a", 12.0, 340.0, 0.0353, 4.2),
        ("2024-03-01", "https://www.example.com/b", 0.0, 7.0, 0.0, None),
    ]
    assert all(type(value) is float for value in page.rows[0][2:])
    assert page.response_aggregation_type is AggregationType.BY_PAGE


def test_query_without_dimensions_returns_the_totals_row():
    body = {
        "rows": [{"clicks": 5.0, "impressions": 50.0, "ctr": 0.1, "position": 3.0}],
        "responseAggregationType": "BY_PROPERTY",
    }
    with stub_server(Reply(200, body)) as stub, stub_client(stub) as client:
        page = client.query(page_request(dimensions=(), aggregation_type=AggregationType.AUTO))
    assert page.rows == [(5.0, 50.0, 0.1, 3.0)]
    assert page.response_aggregation_type is AggregationType.BY_PROPERTY


@pytest.mark.parametrize("style", ["snake", "camel"])
def test_first_incomplete_metadata_is_read_in_both_spellings(style):
    keys = (
        ("first_incomplete_date", "first_incomplete_hour")
        if style == "snake"
        else ("firstIncompleteDate", "firstIncompleteHour")
    )
    body = {"metadata": {keys[0]: "2024-03-02", keys[1]: "2024-03-02T10:00:00-08:00"}}
    with stub_server(Reply(200, body)) as stub, stub_client(stub) as client:
        page = client.query(page_request(data_state=DataState.ALL))
    assert page.first_incomplete_date == dt.date(2024, 3, 2)
    assert page.first_incomplete_hour == "2024-03-02T10:00:00-08:00"


MALFORMED_BODIES = [
    (
        "html page with 200",
        b"<!DOCTYPE html><html><body>Sign in to the proxy</body></html>",
        "not JSON",
    ),
    ("truncated json", b'{"rows": [{"keys": ["2024-03-01", "https://www.e', "not JSON"),
    ("json list", b"[]", "JSON list, not an object"),
    ("rows not a list", b'{"rows": {"a": 1}}', "rows is a dict"),
    ("row not an object", b'{"rows": [5]}', "row 0 is not an object"),
    ("keys missing", b'{"rows": [{"clicks": 1, "impressions": 2, "ctr": 0.5}]}', "keys must be 2"),
    ("keys too short", json.dumps({"rows": [row(["2024-03-01"])]}).encode(), "keys must be 2"),
    ("keys not strings", json.dumps({"rows": [row(["2024-03-01", 7])]}).encode(), "keys must"),
    (
        "clicks is a bool",
        json.dumps({"rows": [row(["d", "p"], clicks=True)]}).encode(),
        "must be numbers",
    ),
    (
        "ctr is a string",
        json.dumps({"rows": [row(["d", "p"], ctr="0.1")]}).encode(),
        "must be numbers",
    ),
    (
        "position is a string",
        json.dumps({"rows": [row(["d", "p"], position="4")]}).encode(),
        "position a number or absent",
    ),
    (
        "impressions missing",
        b'{"rows": [{"keys": ["d", "p"], "clicks": 1, "ctr": 0.5}]}',
        "must be numbers",
    ),
    (
        "bad incomplete date",
        b'{"metadata": {"first_incomplete_date": "yesterday"}}',
        "is not a date",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "problem"), MALFORMED_BODIES, ids=[c[0] for c in MALFORMED_BODIES]
)
def test_malformed_success_bodies_are_permanent_errors_naming_site_and_date(case, body, problem):
    with (
        stub_server(Reply(200, body)) as stub,
        stub_client(stub) as client,
        pytest.raises(errors.MalformedResponseError) as caught,
    ):
        client.query(page_request())
    assert problem in caught.value.message
    assert URL_PREFIX_SITE in caught.value.message
    assert "2024-03-01" in caught.value.message


# --- errors over HTTP ----------------------------------------------------------------------


def test_html_502_from_a_proxy_is_a_server_error_quoting_its_text():
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    reply = Reply(502, html, headers={"Content-Type": "text/html"})
    with (
        stub_server(reply) as stub,
        stub_client(stub) as client,
        pytest.raises(errors.ServerError) as caught,
    ):
        client.query(page_request())
    message = caught.value.message
    assert "502 Bad Gateway nginx" in message
    assert "site 'https://www.example.com/', date 2024-03-01" in message
    assert "retry with backoff" in message


def test_retry_after_as_an_http_date_is_turned_into_seconds():
    when = email.utils.formatdate(time.time() + 90, usegmt=True)
    body = {
        "error": {
            "code": 429,
            "message": "Rate Limit Exceeded",
            "status": "RESOURCE_EXHAUSTED",
            "errors": [{"reason": "rateLimitExceeded", "domain": "usageLimits"}],
        }
    }
    with (
        stub_server(Reply(429, body, headers={"Retry-After": when})) as stub,
        stub_client(stub) as client,
        pytest.raises(errors.RateLimitedError) as caught,
    ):
        client.query(page_request())
    assert 85 <= caught.value.retry_after_seconds <= 91
    assert "Rate Limit Exceeded" in caught.value.message


def test_401_invalidates_the_token_and_raises_token_rejected():
    tokens = RecordingTokens("secret-token-value")
    body = {
        "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    }
    reply = Reply(401, body, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    with (
        stub_server(reply) as stub,
        stub_client(stub, tokens) as client,
        pytest.raises(errors.TokenRejectedError) as caught,
    ):
        client.query(page_request())
    assert tokens.invalidations == 1
    assert "invalid authentication credentials" in caught.value.message
    assert "secret-token-value" not in caught.value.message
    assert caught.value.status == 401


def test_dropped_connection_is_a_transport_error_after_exactly_one_attempt():
    with (
        stub_server(Reply(drop=True)) as stub,
        stub_client(stub) as client,
        pytest.raises(errors.TransportError) as caught,
    ):
        client.query(page_request())
    assert len(stub.received) == 1
    assert URL_PREFIX_SITE in caught.value.message


def test_truncated_transfer_is_a_transport_error():
    reply = Reply(200, b'{"rows": []', headers={"Content-Length": "500"}, close=True)
    with (
        stub_server(reply) as stub,
        stub_client(stub) as client,
        pytest.raises(errors.TransportError),
    ):
        client.query(page_request())


def test_read_timeout_is_a_transport_error():
    with (
        stub_server(Reply(200, {}, delay_seconds=1.0)) as stub,
        stub_client(stub, timeout_seconds=0.2) as client,
        pytest.raises(errors.TransportError, match="ReadTimeout"),
    ):
        client.query(page_request())


def test_refused_connection_is_a_transport_error():
    with stub_server(Reply()) as stub:
        dead = stub.base_url
    with (
        SearchConsoleClient(dead, RecordingTokens()) as client,
        pytest.raises(errors.TransportError, match="ConnectionError"),
    ):
        client.query(page_request())


def test_token_errors_keep_their_class_and_gain_the_work_unit():
    class FailingTokens(RecordingTokens):
        def authorization_header(self) -> str:
            raise errors.ServerError("the token endpoint answered HTTP 503", status=503)

    with (
        stub_server(Reply(200, {})) as stub,
        stub_client(stub, FailingTokens()) as client,
        pytest.raises(errors.ServerError) as caught,
    ):
        client.query(page_request())
    assert "HTTP 503" in caught.value.message and "2024-03-01" in caught.value.message
    assert stub.received == []


def test_repr_shows_no_token():
    client = SearchConsoleClient("http://127.0.0.1:9", StaticTokenProvider("very-secret"))
    assert "very-secret" not in repr(client)
    client.close()


# --- against the simulator -----------------------------------------------------------------


def recent_day(sim) -> dt.date:
    today = getattr(getattr(sim, "config", None), "today", None) or dt.date.today()
    return today - dt.timedelta(days=10)


def sim_client(sim, token: str = "sim-token", **kwargs) -> SearchConsoleClient:
    return SearchConsoleClient(sim.base_url, StaticTokenProvider(token), **kwargs)


def test_simulator_lists_and_gets_both_property_forms(simulator):
    with sim_client(simulator) as client:
        sites = {entry.site_url for entry in client.list_sites()}
        assert {URL_PREFIX_SITE, DOMAIN_SITE} <= sites
        assert client.get_site(DOMAIN_SITE).site_url == DOMAIN_SITE
        assert client.get_site(URL_PREFIX_SITE).permission_level in {"siteOwner", "siteFullUser"}


@pytest.mark.parametrize("site", [URL_PREFIX_SITE, DOMAIN_SITE])
def test_simulator_query_returns_the_expected_rows(simulator, site):
    day = recent_day(simulator)
    with sim_client(simulator) as client:
        page = client.query(page_request(site, day))
    expected = simulator.expected_rows(
        site, day, SearchType.WEB, PAGE_DIMS, AggregationType.BY_PAGE, DataState.FINAL
    )
    assert page.rows
    assert [tuple(r) for r in page.rows] == [tuple(r) for r in expected]
    assert page.response_aggregation_type is AggregationType.BY_PAGE


def test_simulator_service_account_flow_end_to_end(simulator, tmp_path):
    key = write_key_file(tmp_path, service_account_key(simulator.token_uri))
    tokens = load_token_provider(credentials_file=str(key), access_token=None)
    with SearchConsoleClient(simulator.base_url, tokens) as client:
        assert client.query(page_request(day=recent_day(simulator))).rows


def test_simulator_site_without_trailing_slash_is_permission_denied(simulator):
    with sim_client(simulator) as client, pytest.raises(errors.PermissionDeniedError) as caught:
        client.query(page_request("https://www.example.com", recent_day(simulator)))
    message = caught.value.message
    assert "sufficient permission" in message
    assert "trailing slash" in message and "added as a user" in message


def test_simulator_discover_by_query_is_a_bad_request(simulator):
    request = page_request(
        day=recent_day(simulator),
        search_type=SearchType.DISCOVER,
        dimensions=(Dimension.DATE, Dimension.QUERY),
    )
    with sim_client(simulator) as client, pytest.raises(errors.BadRequestError) as caught:
        client.query(request)
    assert "discover" in caught.value.message.lower()


def test_simulator_unknown_token_is_rejected_and_invalidated(simulator):
    tokens = RecordingTokens("not-a-valid-token")
    with (
        SearchConsoleClient(simulator.base_url, tokens) as client,
        pytest.raises(errors.TokenRejectedError),
    ):
        client.query(page_request(day=recent_day(simulator)))
    assert tokens.invalidations == 1


@pytest.mark.parametrize("style", ["429", "403"])
def test_simulator_quota_is_rate_limited_in_both_styles(make_simulator, style):
    sim = make_simulator(qpm_per_site=1, quota_error_style=style)
    with sim_client(sim) as client:
        client.query(page_request(day=recent_day(sim)))
        with pytest.raises(errors.RateLimitedError) as caught:
            client.query(page_request(day=recent_day(sim)))
    assert caught.value.status == int(style)


def test_simulator_api_disabled(make_simulator):
    sim = make_simulator(api_disabled=True)
    with sim_client(sim) as client, pytest.raises(errors.ApiDisabledError) as caught:
        client.query(page_request(day=recent_day(sim)))
    assert "Enable the Google Search Console API" in caught.value.message


def test_simulator_server_errors_and_dropped_connections(make_simulator):
    with sim_client(make_simulator(error_rate=1.0)) as client, pytest.raises(errors.ServerError):
        client.query(page_request())
    with sim_client(make_simulator(drop_rate=1.0)) as client, pytest.raises(errors.TransportError):
        client.query(page_request())


def test_simulator_slow_answer_times_out(make_simulator):
    sim = make_simulator(slow_rate=1.0, slow_seconds=2.0)
    with sim_client(sim, timeout_seconds=0.3) as client, pytest.raises(errors.TransportError):
        client.query(page_request(day=recent_day(sim)))


def test_simulator_load_quota_is_a_load_quota_error(make_simulator):
    sim = make_simulator(load_quota_requests=1)
    with sim_client(sim) as client, pytest.raises(errors.LoadQuotaError) as caught:
        client.query(page_request(day=recent_day(sim)))
    assert "15 minutes" in caught.value.message
    assert caught.value.status == 403


def test_simulator_retry_after_reaches_the_error(make_simulator):
    sim = make_simulator(qpm_per_site=1, retry_after_seconds=7)
    with sim_client(sim) as client:
        client.query(page_request(day=recent_day(sim)))
        with pytest.raises(errors.RateLimitedError) as caught:
            client.query(page_request(day=recent_day(sim)))
    assert caught.value.retry_after_seconds == 7.0


def test_simulator_token_endpoint_outage_is_retryable(make_simulator, tmp_path):
    sim = make_simulator(token_failure_rate=1.0)
    key = write_key_file(tmp_path, service_account_key(sim.token_uri))
    tokens = load_token_provider(credentials_file=str(key), access_token=None)
    with (
        SearchConsoleClient(sim.base_url, tokens) as client,
        pytest.raises(errors.ServerError) as caught,
    ):
        client.query(page_request(day=recent_day(sim)))
    assert caught.value.status == 503
    assert URL_PREFIX_SITE in caught.value.message
    assert "needed for" in caught.value.message


def test_simulator_service_account_sees_only_its_properties(make_simulator, tmp_path):
    sim = make_simulator(access={SERVICE_ACCOUNT_EMAIL: (DOMAIN_SITE,)})
    key = write_key_file(tmp_path, service_account_key(sim.token_uri))
    tokens = load_token_provider(credentials_file=str(key), access_token=None)
    with SearchConsoleClient(sim.base_url, tokens) as client:
        assert [entry.site_url for entry in client.list_sites()] == [DOMAIN_SITE]
        assert client.query(page_request(DOMAIN_SITE, recent_day(sim))).rows
        with pytest.raises(errors.PermissionDeniedError, match="added as a user"):
            client.query(page_request(URL_PREFIX_SITE, recent_day(sim)))
