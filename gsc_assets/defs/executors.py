"""Where steps execute: the run's process (default), a process per step, or dagster-celery workers.

In-process is the default because a run's steps (three report assets, their checks, the lifetime
stats) are short and I/O-bound with their own request concurrency inside: a process per step would
cost seconds of Python start-up each and a separate HTTP pool per step.

With `GSC_EXECUTOR=celery` every step of every run (UI backfills, schedules, CLI-launched jobs) is
queued on `GSC_CELERY_QUEUE` at `GSC_CELERY_BROKER_URL`; workers started with
`dagster-celery worker start -y worker.yaml -q <queue> -A dagster_celery.app` execute them. The
workers must share the Dagster instance (Postgres) and the quota store (`GSC_QUOTA_DATABASE_URL` or
`GSC_DATABASE_URL`), and see the same GSC_* environment. See docs/deploy.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from gsc_assets.settings import Settings

# A step whose worker dies is handed to another worker instead of being lost. By default Celery
# acknowledges a task when a worker *receives* it, so a worker killed mid-step (OOM, node loss,
# container stop) takes the step with it and the run waits for a result that never comes, until
# run monitoring's max_runtime_seconds (12 h). Acknowledged only once finished (acks_late), the
# message goes back to the queue when the worker's broker connection closes (at once on a kill;
# after the heartbeat timeout when its host vanishes), and when only the pool process dies the
# worker requeues it (reject_on_worker_lost). Running a step twice is harmless: a re-run replaces
# its dates. Measured by gsc_assets_tests/e2e/test_celery_worker_loss.py. The price: RabbitMQ
# closes a channel whose delivery stays unacknowledged past its consumer_timeout (30 min by
# default), so raise that above the longest step (docs/deploy.md).
WORKER_LOSS_CONFIG: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    # A worker's host that vanished without closing its connection is noticed by RabbitMQ after
    # missed heartbeats: 30 s instead of the negotiated 60 s (Celery's 120, RabbitMQ's 60).
    "broker_heartbeat": 30,
}


def celery_executor_config(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The `execution: config:` block; a worker's `-y worker.yaml` must hold the same values.

    Given the process environment, the broker and backend URLs (which may hold a password) are
    `{env: VAR}` references, resolved by Dagster when the executor starts and never displayed.
    """
    from_env = environ is os.environ
    return {
        "broker": _env_or_value("GSC_CELERY_BROKER_URL", settings.celery_broker_url, from_env),
        "backend": _env_or_value("GSC_CELERY_BACKEND_URL", settings.celery_backend_url, from_env),
        "config_source": {
            # dagster-celery routes a step to its `dagster-celery/queue` tag, else to Celery's
            # task_default_queue: one setting moves every step to the workers listening on it.
            "task_default_queue": settings.celery_queue,
            **WORKER_LOSS_CONFIG,
        },
    }


def _env_or_value(name: str, value: str | None, from_env: bool) -> Any:
    return {"env": name} if from_env and os.environ.get(name, "").strip() else value


def build_executor(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> dg.ExecutorDefinition | None:
    """The executor `GSC_EXECUTOR` names."""
    if settings.executor == "in_process":
        return dg.in_process_executor
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    try:
        from dagster_celery import celery_executor
    except ImportError as exc:
        raise ImportError(
            "GSC_EXECUTOR=celery needs dagster-celery: pip install 'gsc_assets[celery]'"
        ) from exc
    return celery_executor.configured(
        celery_executor_config(settings, environ), name="gsc_celery_executor"
    )
