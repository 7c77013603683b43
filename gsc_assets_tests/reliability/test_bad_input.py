"""Bad input: one clear message naming the setting and the fix, and nothing written.

Contract: configuration mistakes are reported when the definitions load (every problem at once,
each naming its variable); what can only be known at run start (credential contents, database
reachability, access to the site) fails the run before any row is written; a malformed API
answer (missing fields, wrong types, truncated JSON, an HTML page) is rejected, never stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.settings import SettingsError
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.builders import (
    SERVICE_ACCOUNT_EMAIL,
    Reply,
    service_account_key,
    stub_server,
    write_key_file,
)
from gsc_assets_tests.reliability.harness import (
    SMALL_SITES,
    SYNC_TABLES,
    materialize,
    recent_dates,
    run_env,
)


def load_problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        build_definitions(env)
    return [line for line in str(raised.value).splitlines() if line.startswith("- ")]


def run_errors(result: dg.ExecuteInProcessResult) -> str:
    """Every error text the failed run recorded (step and resource failures)."""
    assert not result.success
    texts = []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is not None:
            texts.append(error.to_string())
    assert texts, "the run failed without an error event"
    return "\n".join(texts)


def assert_nothing_written(url: str) -> None:
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            for table in (*SYNC_TABLES, "gsc_sync_log"):
                if table in names:
                    count = conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()
                    assert count == 0, table
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("GSC_SITES", "https://www.example.com", "lacks the trailing slash"),
        ("GSC_SITES", "ftp://www.example.com/", "neither a URL-prefix property"),
        ("GSC_SITES", "sc-domain:https://example.com/", "domain property is `sc-domain:"),
        ("GSC_SEARCH_TYPES", "web,shopping", "shopping"),
        ("GSC_START_DATE", "2001-01-01", "16-month retention"),
        ("GSC_START_DATE", "01/02/2024", "use YYYY-MM-DD"),
        ("GSC_QPM_BUDGET", "0", "out of range"),
        ("GSC_QPM_BUDGET", "-5", "out of range"),
        ("GSC_MAX_CONCURRENCY", "lots", "not a whole number"),
        ("GSC_REQUEST_TIMEOUT_SECONDS", "fast", "not a number"),
        ("GSC_LOAD_QUOTA_COOLOFF_SECONDS", "-1", "out of range"),
        ("GSC_DATA_STATE", "fresh", "not one of all, final"),
        ("GSC_DATABASE_URL", "mysql://db/warehouse", "use sqlite:///"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json", "no file at"),
    ],
)
def test_a_bad_setting_fails_at_load_naming_the_variable(simulator, sqlite_url, name, value, words):
    env = run_env(simulator, sqlite_url, **{name: value})
    problems = load_problems(env)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"- {name}: ")
    assert words in problems[0]
    assert_nothing_written(sqlite_url)


def test_every_bad_setting_is_reported_at_once(simulator, sqlite_url):
    env = run_env(
        simulator,
        sqlite_url,
        GSC_SITES="https://a.example.com",
        GSC_QPM_BUDGET="0",
        GSC_MAX_ATTEMPTS="many",
        GSC_BACKFILL_POLICY="sometimes",
    )
    problems = load_problems(env)
    assert [p.split(":")[0] for p in problems] == [
        "- GSC_SITES",
        "- GSC_QPM_BUDGET",
        "- GSC_MAX_ATTEMPTS",
        "- GSC_BACKFILL_POLICY",
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not valid JSON"),
        ('["a list"]', "holds a JSON list"),
        ('{"type": "external_account"}', "\"type\": 'external_account'"),
        (
            '{"type": "service_account", "client_email": "a@b", "token_uri": "http://x"}',
            "missing private_key",
        ),
        (
            '{"type": "service_account", "client_email": "a@b", "token_uri": "http://x", '
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}',
            "not a valid PEM RSA key",
        ),
    ],
)
def test_malformed_credentials_file_fails_at_run_start_and_writes_nothing(
    simulator, sqlite_url, tmp_path, content, words
):
    key = write_key_file(tmp_path, content)
    env = run_env(
        simulator, sqlite_url, GSC_ACCESS_TOKEN="", GOOGLE_APPLICATION_CREDENTIALS=str(key)
    )
    before = simulator.stats()["query_requests"]
    first, last = recent_dates(1)
    errors = run_errors(materialize(env, first, last))
    assert "GOOGLE_APPLICATION_CREDENTIALS file" in errors
    assert words in errors
    assert "point GOOGLE_APPLICATION_CREDENTIALS at a valid" in errors
    assert "AAAA" not in errors
    assert simulator.stats()["query_requests"] == before
    assert_nothing_written(sqlite_url)


def test_a_site_the_credential_cannot_access_fails_with_the_fix_and_writes_nothing(
    make_simulator, sqlite_url, tmp_path
):
    sim = make_simulator(
        sites=SMALL_SITES, access={SERVICE_ACCOUNT_EMAIL: (SMALL_SITES[0].site_url,)}
    )
    key = write_key_file(tmp_path, service_account_key(sim.token_uri))
    env = run_env(sim, sqlite_url, GSC_ACCESS_TOKEN="", GOOGLE_APPLICATION_CREDENTIALS=str(key))
    first, last = recent_dates(2)
    errors = run_errors(materialize(env, first, last, tables=["gsc_page_daily"]))
    assert "sufficient permission" in errors
    assert repr(SMALL_SITES[1].site_url) in errors
    assert "Users and permissions" in errors
    assert_nothing_written(sqlite_url)


def test_unsupported_search_type_and_dimension_combination_is_never_requested(
    make_simulator, sqlite_url
):
    problems = PAGE_QUERY_REPORT.problems_for(SearchType.DISCOVER)
    assert problems and "does not support" in problems[-1] and "discover" in problems[-1]
    sim = make_simulator(sites=SMALL_SITES)
    env = run_env(sim, sqlite_url, GSC_SEARCH_TYPES="discover")
    first, last = recent_dates(2)
    result = materialize(env, first, last, tables=[PAGE_QUERY_REPORT.table])
    assert result.success
    assert sim.stats()["query_requests"] == 0  # no request Google would answer with a 400
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text(f"select count(*) from {PAGE_QUERY_REPORT.table}")).scalar() == 0
        )
        logged = conn.execute(sa.text("select status, requests from gsc_sync_log")).all()
    engine.dispose()
    # Each slice is recorded as not offered by Google: "no rows" and "not offered" stay apart.
    assert logged and set(logged) == {("not_offered", 0)}


def test_unreachable_database_fails_at_run_start_naming_the_setting(simulator):
    url = "postgresql+psycopg2://postgres@127.0.0.1:9/warehouse"  # the discard port: refused
    env = run_env(simulator, url)
    before = simulator.stats()["query_requests"]
    first, last = recent_dates(1)
    errors = run_errors(materialize(env, first, last, tables=["gsc_site_daily"]))
    assert (
        "cannot reach the warehouse database at postgresql+psycopg2://postgres@127.0.0.1:9"
        in errors
    )
    assert "check GSC_QUOTA_DATABASE_URL (default: GSC_DATABASE_URL)" in errors
    assert "Traceback" not in errors.split("\n")[0]
    assert simulator.stats()["query_requests"] == before


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (
            Reply(
                200, "<html><body>Sign in to the proxy</body></html>", {"Content-Type": "text/html"}
            ),
            "the body is not JSON",
        ),
        (
            Reply(200, '{"rows": [{"keys": ["2024-01-0', {"Content-Type": "application/json"}),
            "the body is not JSON",
        ),
        (
            Reply(200, {"rows": [{"keys": ["2024-01-01"], "impressions": 3.0, "ctr": 0.1}]}),
            "row 0 clicks",
        ),
        (
            Reply(
                200,
                {
                    "rows": [
                        {"keys": ["2024-01-01"], "clicks": "12", "impressions": 3.0, "ctr": 0.1}
                    ]
                },
            ),
            "row 0 clicks",
        ),
        (
            Reply(
                200, {"rows": [{"keys": [20240101], "clicks": 1.0, "impressions": 3.0, "ctr": 0.1}]}
            ),
            "keys must be 1 strings",
        ),
        (Reply(200, {"rows": {"keys": []}}), "rows is a dict"),
        (Reply(200, [1, 2]), "JSON list, not an object"),
        (
            Reply(502, "<html><h1>502 Bad Gateway</h1></html>", {"Content-Type": "text/html"}),
            "502 Bad Gateway",
        ),
    ],
)
def test_malformed_api_response_is_rejected_and_never_stored(sqlite_url, reply, words):
    first, last = recent_dates(1)
    with stub_server(reply) as stub:
        env = {
            "GSC_API_BASE_URL": stub.base_url,
            "GSC_ACCESS_TOKEN": "stub-token",
            "GSC_SITES": "https://www.example.com/",
            "GSC_DATABASE_URL": sqlite_url,
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (today_pacific() - dt.timedelta(days=30)).isoformat(),
            "GSC_MAX_ATTEMPTS": "2",
            "GSC_REQUEST_TIMEOUT_SECONDS": "2",
        }
        errors = run_errors(materialize(env, first, last, tables=["gsc_site_daily"]))
    assert words in errors
    assert "https://www.example.com/" in errors
    assert_nothing_written(sqlite_url)
