"""dagster-celery workers for end-to-end tests: the test broker, worker processes, their steps.

Needs RabbitMQ (GSC_TEST_BROKER_URL, default pyamqp://guest:guest@127.0.0.1:5672//): tests skip
with the reason when it is unreachable, and fail when GSC_REQUIRE_BROKER=1 (CI).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg
import pytest

from gsc_assets_tests.e2e.processes import ManagedProcess, venv_bin

DEFAULT_TEST_BROKER_URL = "pyamqp://guest:guest@127.0.0.1:5672//"


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


def start_workers(
    names: Sequence[str], worker_yaml: Path, queue: str, env: Mapping[str, str], log_dir: Path
) -> list[ManagedProcess]:
    """`dagster-celery worker start` on `queue` per name, one task at a time each; returns once
    all are ready (started together: each takes seconds to import the definitions)."""

    def args(name: str) -> list[str]:
        return [
            venv_bin("dagster-celery"), "worker", "start", "-n", name, "-y", str(worker_yaml),
            "-q", queue, "-A", "dagster_celery.app", "--", "--concurrency=1",
        ]  # fmt: skip

    workers = [ManagedProcess(args(name), env, log_dir / f"celery-{name}.log") for name in names]
    try:
        for name, worker in zip(names, workers, strict=True):
            worker.wait_until(lambda w=worker: " ready." in w.output(), f"celery worker {name}")
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers


def start_worker(
    name: str, worker_yaml: Path, queue: str, env: Mapping[str, str], log_dir: Path
) -> ManagedProcess:
    """One worker (see `start_workers`)."""
    return start_workers([name], worker_yaml, queue, env, log_dir)[0]


def step_deliveries(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, float]]:
    """(step key, Celery worker hostname, timestamp) of every task a worker began for the run:
    dagster-celery writes one engine event per delivery before it executes the step."""
    deliveries = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = record.get_dagster_event().engine_event_data.metadata or {}
        if "Celery worker" in metadata:
            host = str(metadata["Celery worker"].value)
            deliveries.append((record.step_key or "", host, record.timestamp))
    return deliveries
