"""Where run hygiene hooks into Dagster: the start of every run, the wait for a slot, the daemon.

- `start_run_guard` runs when the Search Console resource is set up: with the default in-process
  executor that is at the start of the run, before any step claims a `gsc_api` slot. It records
  this run's host and pid, fails runs whose process is gone (freeing their slots), and watches
  this run's waits for pool slots. This covers `dagster asset materialize`, CI and cron without a
  daemon. (With the multiprocess or Celery executor the resource is set up per step, after the
  slot is claimed: the reaping still happens, the wait is watched only by the daemon sensor.)
- `run_hygiene_sensor` does the same reaping every 30 s wherever the daemon runs (`dagster dev`,
  `dagster-daemon`), so runs waiting in the run queue are unblocked too.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import os

import dagster as dg

from gsc_assets.defs.run_hygiene import mark_run_process, reap_dead_runs, run_process
from gsc_assets.defs.slot_wait import PoolWaitWatch

SENSOR_INTERVAL_SECONDS = 30


class RunGuard:
    """The run-scoped part: started at resource setup, stopped at teardown."""

    def __init__(self, watch: PoolWaitWatch | None) -> None:
        self._watch = watch

    def stop(self) -> None:
        """Stop watching pool waits."""
        if self._watch is not None:
            self._watch.stop()


def start_run_guard(context: dg.InitResourceContext, pool_wait_timeout_seconds: float) -> RunGuard:
    """Mark this run's process, reap dead runs, watch pool waits; a no-op outside a real run."""
    instance = context.instance
    run = context.run
    if instance is None or run is None or instance.is_ephemeral:
        return RunGuard(None)  # direct materialize() in tests, the demo's ephemeral instance
    log = context.log.warning if context.log is not None else (lambda _: None)
    mark_run_process(instance, run)
    reap_dead_runs(instance, exclude={run.run_id}, log=log)
    if not instance.event_log_storage.supports_global_concurrency_limits:
        return RunGuard(None)
    orchestrator = run_process(instance, run.run_id)
    if orchestrator is None or orchestrator.pid != os.getpid():
        return RunGuard(None)  # a step process (multiprocess, Celery): its parent claims slots
    watch = PoolWaitWatch(instance, run, log, timeout_seconds=pool_wait_timeout_seconds)
    return RunGuard(watch.start())


def build_run_hygiene_sensor(name: str = "run_hygiene_sensor") -> dg.SensorDefinition:
    """The reaping sensor; each instance of a project has its own (`name`), and reaping twice
    is harmless (a reaped run is failed and freed once)."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails runs whose process is gone on this machine (killed, OOM, reboot) and "
        "frees their gsc_api pool slots and run-queue places; frees slots that ended runs still "
        "hold.",
    )
    def run_hygiene_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        """Reap, then say what was done (visible in the sensor's tick history)."""
        reaped = reap_dead_runs(context.instance, log=context.log.warning)
        if not reaped:
            return dg.SkipReason("no dead run holds anything")
        return dg.SkipReason(
            "; ".join(f"run {run.run_id} ({run.previous_status}): {run.reason}" for run in reaped)
        )

    return run_hygiene_sensor


run_hygiene_sensor = build_run_hygiene_sensor()
