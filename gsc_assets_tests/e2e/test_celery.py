"""Beyond one machine: a backfill whose steps run on two dagster-celery workers, instance on Postgres.

Contract: with the repository's dagster_postgres.yaml as the instance (a fresh PostgreSQL database
per test, which also holds the warehouse and the quota state), GSC_EXECUTOR=celery on a fresh queue
and two `dagster-celery worker start` processes listening on it, a backfill of several dates
launched as the UI does (GraphQL `launchPartitionBackfill`) succeeds with its steps spread over
both workers; the warehouse holds exactly the simulator's rows; and the quota held across the
workers: the simulator never accepted more than GSC_QPM_BUDGET queries for the site in any 60 s,
although the backfill sent more than that (per-step limiters would have let them all through
at once).

Needs RabbitMQ (GSC_TEST_BROKER_URL, default pyamqp://guest:guest@127.0.0.1:5672//): skipped with
the reason when unreachable, a failure when GSC_REQUIRE_BROKER=1 (CI). PostgreSQL likewise
(GSC_REQUIRE_POSTGRES).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from gsc_assets.defs.executors import celery_executor_config
from gsc_assets.search_console.models import CORE_REPORTS
from gsc_assets.settings import Settings, today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.conftest import require_postgres
from gsc_assets_tests.defs.test_assets import expected, stored_rows
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    DagsterDevProcess,
    ManagedProcess,
    gsc_env,
    make_dagster_home,
    open_instance,
    venv_bin,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(480)]

DEFAULT_TEST_BROKER_URL = "pyamqp://guest:guest@127.0.0.1:5672//"
WORKERS = ("w1", "w2")
PARTITIONS = 6
QPM_BUDGET = 24  # 6 dates x 3 reports make ~42 queries for the site: more than one minute's budget
SYNC_ASSETS = [report.table for report in CORE_REPORTS]
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
DEADLINE_SECONDS = 360.0  # a guard against hanging: the quota alone makes this take over 60 s

LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL_STATUS = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}"""


def broker_url() -> str:
    """The test broker; skip (fail under GSC_REQUIRE_BROKER=1) when it does not answer."""
    from kombu import Connection

    url = os.environ.get("GSC_TEST_BROKER_URL", DEFAULT_TEST_BROKER_URL)
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to connect means "unreachable"
        message = f"Celery broker unreachable at {url} ({type(exc).__name__}: {exc})"
        if os.environ.get("GSC_REQUIRE_BROKER") == "1":
            pytest.fail(message + " and GSC_REQUIRE_BROKER=1")
        pytest.skip(message)
    return url


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database (instance, warehouse and quota state), dropped afterwards."""
    server_url = require_postgres()
    name = f"gsc_celery_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = sa.engine.make_url(server_url)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_worker(name: str, worker_yaml: Path, queue: str, env: dict[str, str], log_dir: Path):
    """`dagster-celery worker start` on `queue`, one task at a time; returns once it is ready."""
    worker = ManagedProcess(
        [
            venv_bin("dagster-celery"),
            "worker",
            "start",
            "-n",
            name,
            "-y",
            str(worker_yaml),
            "-q",
            queue,
            "-A",
            "dagster_celery.app",
            "--",
            "--concurrency=1",
        ],  # fmt: skip
        env,
        log_dir / f"celery-{name}.log",
    )
    worker.wait_until(lambda: " ready." in worker.output(), f"celery worker {name}")
    return worker


def worker_hostnames(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, int]:
    """Steps executed per Celery worker, from the engine events each worker writes."""
    counts: dict[str, int] = {}
    for run_id in run_ids:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            metadata = record.get_dagster_event().engine_event_data.metadata
            if "Celery worker" in metadata:
                host = metadata["Celery worker"].value
                counts[host] = counts.get(host, 0) + 1
    return counts


def test_celery_workers_share_one_quota_and_store_exactly_the_api_rows(
    make_simulator, fresh_database, tmp_path, monkeypatch
):
    broker = broker_url()
    monkeypatch.setenv("GSC_DAGSTER_PG_URL", fresh_database)  # this process reads the instance too
    sim = make_simulator()
    site = sim.sites[0]
    queue = f"gsc_test_{uuid.uuid4().hex[:10]}"  # stale tasks of other runs cannot reach us
    home = make_dagster_home(tmp_path / "dagster_home", REPO_ROOT / "dagster_postgres.yaml")
    settings_env = {
        "GSC_API_BASE_URL": sim.base_url,
        "GSC_ACCESS_TOKEN": "sim-token",
        "GSC_SITES": site,
        "GSC_DATABASE_URL": fresh_database,
        "GSC_DAGSTER_PG_URL": fresh_database,
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (today_pacific() - dt.timedelta(days=30)).isoformat(),
        "GSC_QPM_BUDGET": str(QPM_BUDGET),
        "GSC_EXECUTOR": "celery",
        "GSC_CELERY_BROKER_URL": broker,
        "GSC_CELERY_BACKEND_URL": "rpc://",
        "GSC_CELERY_QUEUE": queue,
    }
    worker_yaml = tmp_path / "worker.yaml"
    worker_yaml.write_text(
        yaml.safe_dump(
            {"execution": {"config": celery_executor_config(Settings.from_env(settings_env))}}
        )
    )
    env = gsc_env(dagster_home=home, extra=settings_env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)  # the workers import gsc_assets.definitions
    last = today_pacific() - dt.timedelta(days=3)
    dates = [last - dt.timedelta(days=i) for i in reversed(range(PARTITIONS))]

    workers = [start_worker(name, worker_yaml, queue, env, tmp_path) for name in WORKERS]
    try:
        with DagsterDevProcess(env, tmp_path) as dev, open_instance(home) as instance:
            dev.wait_for_daemons()
            sim.reset_stats()
            started = time.monotonic()
            launched = dev.graphql(
                LAUNCH_BACKFILL,
                {
                    "params": {
                        "partitionNames": [d.isoformat() for d in dates],
                        "assetSelection": [{"path": [name]} for name in SYNC_ASSETS],
                    }
                },
            )["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            backfill_id = launched["backfillId"]
            backfill_runs = RunsFilter(tags={"dagster/backfill": backfill_id})
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                status = dev.graphql(BACKFILL_STATUS, {"id": backfill_id})
                runs = instance.get_runs(backfill_runs)
                done = status["partitionBackfillOrError"]["status"] in BACKFILL_DONE
                if done and runs and all(run.is_finished for run in runs):
                    break
                assert time.monotonic() < deadline, f"backfill {backfill_id} still running"
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            stats = sim.stats()
            steps_by_worker = worker_hostnames(instance, [run.run_id for run in runs])
            print(  # noqa: T201 - the numbers the report quotes
                f"\ncelery backfill {backfill_id}: {len(runs)} run(s), {PARTITIONS} dates, steps by "
                f"worker {steps_by_worker}, {stats['accepted_query_requests']} queries, at most "
                f"{stats['max_accepted_in_any_60s_by_site']} per site and "
                f"{stats['max_accepted_in_any_60s_by_user']} per credential in any 60 s "
                f"(budget {QPM_BUDGET}), {elapsed:.1f} s"
            )
            assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
            for name in SYNC_ASSETS:
                assert instance.get_materialized_partitions(dg.AssetKey(name)) == {
                    d.isoformat() for d in dates
                }
    finally:
        for worker in workers:
            worker.stop()

    assert sorted(host.split("@")[0] for host in steps_by_worker) == sorted(WORKERS)
    assert stats["accepted_query_requests"] > QPM_BUDGET
    assert stats["requests_by_status"].get("429", 0) == 0  # the limiter, not Google, held the line
    assert stats["max_accepted_in_any_60s_by_site"][site] <= QPM_BUDGET
    assert max(stats["max_accepted_in_any_60s_by_user"].values()) <= QPM_BUDGET
    engine = make_engine(fresh_database)
    try:
        for date in dates:
            for table in SYNC_ASSETS:
                want = expected(sim, table, site, date)
                assert want, (table, date)
                assert stored_rows(engine, table, site, date) == want, (table, date)
    finally:
        engine.dispose()
