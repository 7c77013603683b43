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

from typing import Any

import dagster as dg

from gsc_assets.settings import Settings


def celery_executor_config(settings: Settings) -> dict[str, Any]:
    """The `execution: config:` block; a worker's `-y worker.yaml` must hold the same values."""
    return {
        "broker": settings.celery_broker_url,
        "backend": settings.celery_backend_url,
        # dagster-celery routes a step to its `dagster-celery/queue` tag, else to Celery's
        # task_default_queue: one setting moves every step to the workers listening on it.
        "config_source": {"task_default_queue": settings.celery_queue},
    }


def build_executor(settings: Settings) -> dg.ExecutorDefinition | None:
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
    return celery_executor.configured(celery_executor_config(settings), name="gsc_celery_executor")
