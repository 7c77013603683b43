"""A Celery worker killed in the middle of a step: the step runs again on a worker, the run ends.

Contract (real processes: RabbitMQ, a fresh PostgreSQL database holding the instance made by
`python -m gsc_assets.instance init --storage postgres`, the warehouse and the quota state; two
`dagster-celery worker start` processes with the executor's own config; a `dagster asset
materialize` run with GSC_EXECUTOR=celery): while a worker executes a sync step (requests in
flight to a slow simulator) it is SIGKILLed -
- the whole worker (its process group: what a lost container or machine looks like), or
- only the pool process running the step (what the kernel's OOM killer does);
then the broker hands the step to a worker again (acks_late / reject_on_worker_lost) and the run
succeeds with exactly the API's rows; the step's first execution never ended. The kill-to-
redelivery time is printed (-s) for the report; bounds are hang guards only.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus

from gsc_assets.defs.executors import celery_executor_config
from gsc_assets.defs.run_hygiene import reap_dead_runs, run_process
from gsc_assets.reports.limits import today_pacific
from gsc_assets.settings import Settings
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import expected, stored_rows
from gsc_assets_tests.e2e.celery_workers import broker_url, start_workers, step_deliveries
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    gsc_env,
    init_dagster_home,
    open_instance,
    start_materialize,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(240)]

NAMES = ("w1", "w2")
TABLE = "gsc_page_daily"
STEP = TABLE  # an asset's step key is its name
GUARD_SECONDS = 120.0  # a guard against hanging, not an assertion about speed


def wait_for(condition, what: str, timeout_seconds: float = GUARD_SECONDS):
    """Poll until `condition()` returns something truthy; return it."""
    deadline = time.monotonic() + timeout_seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} not within {timeout_seconds:.0f} s"
        time.sleep(0.2)
    return value


def step_process_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """Pid of the worker's pool process executing the step (its latest STEP_START)."""
    starts = step_events(instance, run_id, dg.DagsterEventType.STEP_START)
    return starts[-1].get_dagster_event().pid if starts else None


def deliveries_of_step(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, float]]:
    """(worker hostname, timestamp) of each time a worker began the sync step."""
    return [(host, at) for step, host, at in step_deliveries(instance, run_id) if step == STEP]


def step_events(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType):
    return [r for r in instance.all_logs(run_id, of_type=event_type) if r.step_key == STEP]


@pytest.mark.parametrize("killed", ["worker", "pool process"])
def test_a_step_whose_worker_is_killed_runs_again_and_the_run_stores_exact_rows(
    killed, make_simulator, fresh_database, tmp_path, monkeypatch
):
    broker = broker_url()
    monkeypatch.setenv("GSC_DAGSTER_PG_URL", fresh_database)  # this process reads the instance
    sim = make_simulator()
    site = sim.sites[0]
    day = today_pacific() - dt.timedelta(days=4)
    settings_env = {
        "GSC_API_BASE_URL": sim.base_url,
        "GSC_ACCESS_TOKEN": "sim-token",
        "GSC_SITES": site,
        "GSC_DATABASE_URL": fresh_database,
        "GSC_DAGSTER_PG_URL": fresh_database,
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (day - dt.timedelta(days=30)).isoformat(),
        "GSC_MAX_CONCURRENCY": "1",  # one slow request at a time: the step lasts a while
        "GSC_EXECUTOR": "celery",
        "GSC_CELERY_BROKER_URL": broker,
        "GSC_CELERY_QUEUE": f"gsc_test_{uuid.uuid4().hex[:10]}",  # no stale tasks reach us
    }
    config = celery_executor_config(Settings.from_env(settings_env))
    worker_yaml = tmp_path / "worker.yaml"
    worker_yaml.write_text(yaml.safe_dump({"execution": {"config": config}}))
    env = gsc_env(dagster_home=tmp_path / "dagster_home", extra=settings_env)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)  # the workers import gsc_assets.definitions
    home = init_dagster_home(tmp_path / "dagster_home", storage="postgres", env=env)

    queue = settings_env["GSC_CELERY_QUEUE"]
    workers = start_workers(NAMES, worker_yaml, queue, env, tmp_path)
    run = None
    try:
        with open_instance(home) as instance:
            sim.configure(latency_median_ms=3000.0)
            run = start_materialize([TABLE], env, tmp_path / "run.log", partition=day.isoformat())
            run_id = wait_for(
                lambda: next(iter(r.run_id for r in instance.get_runs()), None), "the run"
            )
            # Mid-step: a worker started the step and its process has sent requests.
            wait_for(lambda: step_process_pid(instance, run_id), "the step in a worker")
            wait_for(lambda: sim.stats()["accepted_query_requests"] >= 1, "a request")
            [(host, _)] = deliveries_of_step(instance, run_id)
            pool_pid = step_process_pid(instance, run_id)
            if killed == "worker":
                victim = next(
                    w for n, w in zip(NAMES, workers, strict=True) if host.startswith(f"{n}@")
                )
                os.killpg(victim.process.pid, signal.SIGKILL)
            else:
                os.kill(pool_pid, signal.SIGKILL)
            killed_at = time.time()
            sim.configure(latency_median_ms=0.0)
            assert not step_events(instance, run_id, dg.DagsterEventType.STEP_SUCCESS)
            # Run hygiene on this host (another run's start, the daemon's sensor) must not take
            # the dead step process for the run's: the run itself is alive.
            assert run_id not in {reaped.run_id for reaped in reap_dead_runs(instance)}
            assert getattr(run_process(instance, run_id), "pid", None) != pool_pid

            second = wait_for(
                lambda: deliveries_of_step(instance, run_id)[1:], "the step delivered again"
            )[0]
            exit_code = run.process.wait(GUARD_SECONDS)
            done_at = time.time()
            record = instance.get_run_by_id(run_id)
            deliveries = deliveries_of_step(instance, run_id)
            starts = step_events(instance, run_id, dg.DagsterEventType.STEP_START)
            successes = step_events(instance, run_id, dg.DagsterEventType.STEP_SUCCESS)
    finally:
        if run is not None:
            run.stop()
        for worker in workers:
            worker.stop()
    print(  # noqa: T201 - the numbers the report quotes
        f"\ncelery, {killed} SIGKILLed mid-step on {host}: step delivered again to {second[0]} "
        f"{second[1] - killed_at:.1f} s after the kill; run done {done_at - killed_at:.1f} s "
        "after the kill"
    )
    assert exit_code == 0, run.output()[-3000:]
    assert record is not None and record.status == DagsterRunStatus.SUCCESS
    if killed == "worker":
        assert second[0] != host  # the dead worker cannot have taken it
    assert len(deliveries) == 2 and len(starts) == 2 and len(successes) == 1
    engine = make_engine(fresh_database)
    try:
        want = expected(sim, TABLE, site, day)
        assert want and stored_rows(engine, TABLE, site, day) == want
    finally:
        engine.dispose()
