"""Credentials and SQL safety.

Contract: access tokens, private keys, refresh tokens and client secrets never appear in stdout,
stderr, logging, exceptions, materialization metadata or the Dagster event log — on success and
on failure; values with quotes, semicolons, unicode and 2,048-character pages and queries are
stored and read back exactly on SQLite and PostgreSQL (values are bound, never formatted in);
the simulator listens on 127.0.0.1 only.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
import time

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.warehouse.writes import replace_partition
from gsc_assets_tests.builders import (
    SERVICE_ACCOUNT_EMAIL,
    Received,
    Reply,
    authorized_user_info,
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
from gsc_assets_tests.reliability.test_fault_injection import expire_issued_tokens

REFRESH_TOKEN = "1//refresh-TOKEN-5ecr3t-value-0123456789"
CLIENT_SECRET = "GOCSPX-client-5ecr3t-value-abcdef"
ISSUED_TOKEN_PREFIX = "ya29.sim-"  # every access token the simulator issues starts so


def private_key_fragments(pem: str) -> list[str]:
    body = "".join(line for line in pem.splitlines() if "PRIVATE KEY" not in line)
    return [body[i : i + 24] for i in range(0, len(body) - 24, 200)]


def event_log_text(instance: dg.DagsterInstance) -> str:
    texts = []
    for run in instance.get_runs():
        for record in instance.all_logs(run.run_id):
            texts.append(repr(record))
            texts.append(dg.serialize_value(record))
    return "\n".join(texts)


def run_capturing_everything(env, first, last, capfd, caplog) -> tuple[str, bool]:
    """Run the sync; return everything it printed, logged and recorded, and whether it succeeded."""
    caplog.set_level(logging.DEBUG)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(env, first, last, instance=instance)
        recorded = event_log_text(instance)
        metadata = [
            repr(m.metadata) for t in SYNC_TABLES for m in result.asset_materializations_for_node(t)
        ]
        errors = [repr(e.step_failure_data.error) for e in result.get_step_failure_events()]
    out, err = capfd.readouterr()
    text = "\n".join([out, err, caplog.text, recorded, *metadata, *errors])
    return text, result.success


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"secret leaked: {secret[:12]}..."
    assert ISSUED_TOKEN_PREFIX not in text, "an access token leaked"
    assert "PRIVATE KEY" not in text


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


def test_service_account_secrets_never_leak_on_success_refresh_and_failure(
    make_simulator, sqlite_url, tmp_path, capfd, caplog
):
    sim = make_simulator(sites=SMALL_SITES, seed=41, latency_median_ms=20.0)
    key = service_account_key(sim.token_uri)
    path = write_key_file(tmp_path, key)
    env = run_env(sim, sqlite_url, GSC_ACCESS_TOKEN="", GOOGLE_APPLICATION_CREDENTIALS=str(path))
    first, last = recent_dates(4)
    stop = threading.Event()

    def expire_tokens_now_and_then() -> None:  # 401s and refreshes happen inside the run
        while not stop.wait(0.01):
            if sim.stats()["query_requests"] >= 10 and expire_issued_tokens(sim):
                return

    expirer = threading.Thread(target=expire_tokens_now_and_then, daemon=True)
    expirer.start()
    try:
        text, success = run_capturing_everything(env, first, last, capfd, caplog)
    finally:
        stop.set()
        expirer.join()
    assert success
    assert sim.stats()["requests_by_status"].get("401", 0) > 0
    assert "gsc_page_daily" in text and "POST /token" in text  # the capture is real
    assert_no_secret(text, private_key_fragments(key["private_key"]))

    sim.configure(access={SERVICE_ACCOUNT_EMAIL: ()})  # now: 403 permission denied
    text, success = run_capturing_everything(env, first, last, capfd, caplog)
    assert not success and "sufficient permission" in text
    assert_no_secret(text, private_key_fragments(key["private_key"]))


def test_authorized_user_secrets_never_leak_including_a_refused_refresh(
    make_simulator, sqlite_url, tmp_path, capfd, caplog
):
    sim = make_simulator(sites=SMALL_SITES, seed=42)
    info = authorized_user_info(refresh_token=REFRESH_TOKEN, client_secret=CLIENT_SECRET)
    path = write_key_file(tmp_path, info)
    env = run_env(
        sim,
        sqlite_url,
        GSC_ACCESS_TOKEN="",
        GOOGLE_APPLICATION_CREDENTIALS=str(path),
        GSC_TOKEN_URI=sim.token_uri,
    )
    first, last = recent_dates(2)
    text, success = run_capturing_everything(env, first, last, capfd, caplog)
    assert success
    assert sim.stats()["token_requests"] >= 1
    assert_no_secret(text, [REFRESH_TOKEN, CLIENT_SECRET])

    # A token endpoint that refuses and echoes the form it was sent (some proxies do).
    def refuse_echoing(received: Received) -> Reply:
        said = received.body.decode()
        return Reply(400, {"error": "invalid_grant", "error_description": f"bad grant: {said}"})

    with stub_server(refuse_echoing) as token_endpoint:
        env["GSC_TOKEN_URI"] = token_endpoint.base_url + "/token"
        text, success = run_capturing_everything(env, first, last, capfd, caplog)
        assert len(token_endpoint.received) >= 1
    assert not success
    assert "invalid_grant" in text and "<redacted>" in text
    assert_no_secret(text, [REFRESH_TOKEN, CLIENT_SECRET])


def test_static_access_token_from_the_environment_never_leaks(
    simulator, sqlite_url, monkeypatch, capfd, caplog
):
    # The process environment path: the token enters Dagster as an EnvVar, never as a value.
    from gsc_assets.definitions import build_definitions
    from gsc_assets.defs.runs import materialize_dates

    for name, value in run_env(simulator, sqlite_url).items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    first, last = recent_dates(1)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_dates(build_definitions(), SYNC_TABLES, first, last, instance=instance)
        recorded = event_log_text(instance)
        run = instance.get_runs()[0]
        snapshot = dg.serialize_value(instance.get_job_snapshot(run.job_snapshot_id))
    out, err = capfd.readouterr()
    assert result.success
    for text in (out, err, caplog.text, recorded, snapshot):
        assert "sim-token" not in text


WEIRD_VALUES = [
    'it\'s a "quoted" page',
    "'; DROP TABLE gsc_page_query_daily; --",
    "robert'); delete from gsc_sync_log where ('1'='1",
    "naïve café ☕ 東京 ラーメン 🍜 \u200b zero-width",
    'back\\slash, comma, ""double"" and\nnew line\tand tab',
    "%s %(name)s :param ? $1 {}",
    "",
]


def long_url(length: int, marker: str) -> str:
    stem = f"https://www.example.com/{marker}/"
    return stem + "a" * (length - len(stem))


def test_hostile_and_very_long_values_are_stored_exactly(warehouse_engine):
    date = dt.date(2024, 5, 1)
    day = DaySlice("https://www.example.com/", date, "web")
    long_query = "q" * 2_040 + "✓ünï"  # 2,044 characters, more bytes
    pairs = [(f"https://www.example.com/{i}", value) for i, value in enumerate(WEIRD_VALUES)]
    pairs += [(value or "https://www.example.com/empty", "query") for value in WEIRD_VALUES[:3]]
    pairs += [
        (long_url(2_048, "one"), long_query),
        (long_url(2_048, "two"), long_query),
        (long_url(2_048, "one"), long_query[:-1] + "x"),
    ]
    rows = [
        (date.isoformat(), page, query, float(i), 10.0 * (i + 1), i / (10.0 * (i + 1)), 1.5)
        for i, (page, query) in enumerate(pairs)
    ]
    batch = ReportData(day, PAGE_QUERY_REPORT, rows, requests=1, pages=1)
    replace_partition(warehouse_engine, PAGE_QUERY_REPORT, [batch])
    replace_partition(warehouse_engine, PAGE_QUERY_REPORT, [batch])  # the replace path again
    with warehouse_engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "select date, page, query, clicks, impressions, ctr, position "
                "from gsc_page_query_daily where site_url = :site"
            ),
            {"site": day.site_url},
        ).all()
        assert conn.execute(sa.text("select count(*) from gsc_sync_log")).scalar_one() == 2
    assert sorted((str(r[0]), *r[1:]) for r in stored) == sorted(rows)


def test_the_natural_key_is_still_enforced_for_long_values(warehouse_engine):
    table = sa.table(
        "gsc_page_query_daily",
        *(
            sa.column(c)
            for c in (
                "site_url",
                "date",
                "search_type",
                "page",
                "query",
                "clicks",
                "impressions",
                "ctr",
            )
        ),
    )
    row = {
        "site_url": "https://www.example.com/",
        "date": dt.date(2024, 5, 2),
        "search_type": "web",
        "page": long_url(2_048, "dup"),
        "query": "d" * 2_048,
        "clicks": 1.0,
        "impressions": 2.0,
        "ctr": 0.5,
    }
    with warehouse_engine.begin() as conn:
        conn.execute(sa.insert(table), row)
    with pytest.raises(sa.exc.IntegrityError), warehouse_engine.begin() as conn:
        conn.execute(sa.insert(table), row)


def test_simulator_listens_on_loopback_only(simulator):
    host, port = simulator.app and simulator._server.server_address[:2]
    assert host == "127.0.0.1"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", simulator.base_url)
    addresses = {
        info[4][0]
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        if not info[4][0].startswith("127.")
    }
    for address in addresses:  # every non-loopback interface refuses the port
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=1).close()
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    time.sleep(0)
