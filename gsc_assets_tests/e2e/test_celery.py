"""Beyond one machine: a backfill whose steps run on two dagster-celery workers, instance on
Postgres.

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
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from gsc_assets.defs.executors import celery_executor_config
from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.settings import Settings, today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import expected, stored_rows
from gsc_assets_tests.e2e.celery_workers import broker_url, start_workers, step_deliveries
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    DagsterDevProcess,
    gsc_env,
    make_dagster_home,
    open_instance,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(480)]

WORKERS = ("w1", "w2")
PARTITIONS = 6
# 6 dates x 3 reports make ~17 queries for the site (dates are packed into one request where
# their rows fit a page): more than one minute's budget, so the limiter must hold the line.
QPM_BUDGET = 10
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


def worker_hostnames(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, int]:
    """Steps executed per Celery worker, from the engine events each worker writes."""
    counts: dict[str, int] = {}
    for run_id in run_ids:
        for _step, host, _at in step_deliveries(instance, run_id):
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
    home = make_dagster_home(
        tmp_path / "dagster_home", REPO_ROOT / "deploy" / "dagster_postgres.yaml"
    )
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

    workers = start_workers(WORKERS, worker_yaml, queue, env, tmp_path)
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
                f"\ncelery backfill {backfill_id}: {len(runs)} run(s), {PARTITIONS} dates, steps "
                "by "
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
