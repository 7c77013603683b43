"""Database faults during a sync on PostgreSQL: a connection terminated mid-write, the database
briefly unreachable, the database gone for good.

Contract: a lost connection rolls the partition's transaction back and the write is retried, so
a short outage costs seconds and the warehouse ends exact; a lasting outage fails the run with
one message naming the table, the date, GSC_DATABASE_URL and what to do; no reader ever sees a
partial partition.
"""

from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

import gsc_assets.warehouse.publish as publish_module
import gsc_assets.warehouse.writes as writes_module
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.reliability.harness import (
    SMALL_SITES,
    SYNC_TABLES,
    assert_warehouse_exact,
    dates_between,
    expected_counts,
    failure_message,
    materialize,
    recent_dates,
    run_env,
    stored_counts,
)
from gsc_assets_tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


def terminate_backend_after_insert(monkeypatch, admin_url: str, *, on_calls: set[int]) -> list[int]:
    """After the Nth bulk insert of any write (N in `on_calls`), kill that connection's backend
    from another connection: the partition's transaction holds half its slices at that moment."""
    admin = make_engine(admin_url)
    real_insert = writes_module.insert_rows
    calls: list[int] = []
    terminated: list[int] = []

    def insert_then_terminate(conn, table, rows):  # type: ignore[no-untyped-def]
        inserted = real_insert(conn, table, rows)
        calls.append(1)
        if len(calls) in on_calls:
            pid = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
            with admin.connect() as other:
                killed = other.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one()
            assert killed
            terminated.append(pid)
        return inserted

    monkeypatch.setattr(writes_module, "insert_rows", insert_then_terminate)
    return terminated


class PartialPartitionReader:
    """Polls per-(table, date) counts; every observation must be 0 or the complete count."""

    def __init__(self, url: str, expected: dict) -> None:
        self.engine = make_engine(url)
        self.expected = expected
        self.partial: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PartialPartitionReader:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.engine.dispose()

    def _poll(self) -> None:
        dates = sorted({date for _, date in self.expected})
        while not self._stop.is_set():
            try:
                counts = stored_counts(self.engine, dates, SYNC_TABLES)
            except sa.exc.DBAPIError:
                continue  # the reader shares the server, not the writer's connection
            self.polls += 1
            for key, count in counts.items():
                if count not in (0, self.expected[key]):
                    self.partial.append(f"{key}: {count} of {self.expected[key]}")
            self._stop.wait(0.005)


def test_backend_terminated_mid_write_is_retried_to_exact_data(
    make_simulator, postgres_schema_url, monkeypatch
):
    sim = make_simulator(sites=SMALL_SITES, seed=31)
    first, last = recent_dates(3)
    terminated = terminate_backend_after_insert(monkeypatch, postgres_schema_url, on_calls={1, 8})
    expected = expected_counts(sim, dates_between(first, last))
    with PartialPartitionReader(postgres_schema_url, expected) as reader:
        result = materialize(
            run_env(sim, postgres_schema_url, GSC_QUOTA_STORE="memory"), first, last
        )
    assert result.success
    assert len(terminated) == 2
    assert reader.partial == [] and reader.polls > 0
    engine = make_engine(postgres_schema_url)
    assert assert_warehouse_exact(sim, engine, first, last) > 0
    engine.dispose()


def test_connection_lost_on_every_attempt_fails_with_a_clear_message_and_no_partial_partition(
    make_simulator, postgres_schema_url, monkeypatch
):
    monkeypatch.setattr(writes_module, "WRITE_RETRY_BASE_SECONDS", 0.05)
    sim = make_simulator(sites=SMALL_SITES, seed=32)
    first, last = recent_dates(2)
    terminate_backend_after_insert(monkeypatch, postgres_schema_url, on_calls=set(range(1, 100)))
    result = materialize(
        run_env(sim, postgres_schema_url, GSC_QUOTA_STORE="memory"),
        first,
        last,
        tables=["gsc_page_daily"],
    )
    assert not result.success
    message = failure_message(result)
    assert "lost the connection to the warehouse database" in message
    assert f"gsc_page_daily for {first.isoformat()}" in message
    assert "GSC_DATABASE_URL" in message and "re-run the partition" in message
    assert "Nothing of this partition was written" in message
    engine = make_engine(postgres_schema_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from gsc_page_daily")).scalar_one() == 0
        assert conn.execute(sa.text("select count(*) from gsc_sync_log")).scalar_one() == 0
    engine.dispose()


def through_proxy(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    return urlunsplit(parts._replace(netloc=netloc))


def test_database_briefly_unreachable_during_a_write_recovers_exactly(
    make_simulator, postgres_schema_url, monkeypatch
):
    sim = make_simulator(sites=SMALL_SITES, seed=33)
    first, last = recent_dates(3)
    target = urlsplit(postgres_schema_url)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
    url = through_proxy(postgres_schema_url, proxy)
    real_replace = publish_module.replace_partition
    writes: list[int] = []
    outage: list[threading.Timer] = []

    def replace_during_outage(engine, report, batches, **kwargs):  # type: ignore[no-untyped-def]
        writes.append(1)
        if len(writes) == 2:  # the second partition write starts while the database is down
            proxy.down()
            outage.append(threading.Timer(1.5, proxy.up))
            outage[0].start()
        return real_replace(engine, report, batches, **kwargs)

    monkeypatch.setattr(publish_module, "replace_partition", replace_during_outage)
    expected = expected_counts(sim, dates_between(first, last))
    try:
        with PartialPartitionReader(postgres_schema_url, expected) as reader:
            result = materialize(
                run_env(sim, url, GSC_QUOTA_DATABASE_URL=postgres_schema_url), first, last
            )
    finally:
        for timer in outage:
            timer.cancel()
        proxy.close()
    assert result.success
    assert proxy.refused >= 1  # the write really met a dead database and reconnected
    assert reader.partial == []
    engine = make_engine(postgres_schema_url)
    assert assert_warehouse_exact(sim, engine, first, last) > 0
    engine.dispose()


def test_hourly_write_survives_a_lost_connection_like_a_daily_one(
    make_simulator, postgres_schema_url
):
    """Hourly days take the daily write path: a backend that dies while a day is written (here
    from a trigger, whatever code runs the write) rolls back, and the write is retried."""
    from gsc_assets.definitions import build_definitions
    from gsc_assets.defs.hourly import HOURLY_JOB_NAME
    from gsc_assets.reports.limits import today_pacific
    from gsc_assets.warehouse.engine import create_schema

    sim = make_simulator(sites=SMALL_SITES[:1], seed=34)
    env = run_env(sim, postgres_schema_url, GSC_QUOTA_STORE="memory", GSC_REPORTS="page_hourly")
    defs = build_definitions(env)
    engine = make_engine(postgres_schema_url)
    create_schema(engine)
    with engine.begin() as conn:  # the first write of an hourly day kills its own connection
        conn.execute(sa.text("create sequence kill_once"))
        conn.execute(
            sa.text(
                "create function kill_first_write() returns trigger language plpgsql as $$ "
                "begin if nextval('kill_once') = 1 then "
                "perform pg_terminate_backend(pg_backend_pid()); end if; return null; end $$"
            )
        )
        conn.execute(
            sa.text(
                "create trigger kill_first_write after insert on gsc_page_hourly "
                "for each statement execute function kill_first_write()"
            )
        )
    import dagster as dg

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(HOURLY_JOB_NAME).execute_in_process(instance=instance)
    assert result.success
    with engine.connect() as conn:
        assert conn.execute(sa.text("select last_value from kill_once")).scalar_one() > 1
        day = today_pacific() - dt.timedelta(days=4)
        site = sim.sites[0]
        got = conn.execute(
            sa.text(
                "select hour, page, clicks from gsc_page_hourly "
                "where site_url = :s and date = :d and search_type = 'web'"
            ),
            {"s": site, "d": day},
        ).all()
    want = sim.expected_rows(site, day, "web", ["hour", "page"], "byPage", "hourly_all")
    assert sorted(tuple(r) for r in got) == sorted(r[:3] for r in want) and got
    engine.dispose()
