"""Dead runs release what they hold: a run whose process is gone is failed and its slots freed.

Why part of this is written by hand: Dagster's run monitoring learns that a run worker died only
from the run launcher's `check_run_worker_health`, which the `DefaultRunLauncher` (`dagster dev`,
`dagster-daemon` on one machine) does not implement, and a `dagster asset materialize` run has no
launcher at all. For those runs monitoring can only cancel them after `max_runtime_seconds`, and
`free_slots_after_run_end_seconds` frees only the slots of runs that have already *ended*. So a
SIGKILLed CLI run stays STARTED and holds its `gsc_api` slots (and a run-queue place) forever.
What Dagster lacks is only the liveness test below; failing the run (`report_run_failed`) and
freeing its slots (`free_concurrency_slots_for_run`) are Dagster's own API.

"On this machine": a SQLite instance cannot be shared between machines, so every run in it is
local. On a shared (PostgreSQL) instance a run is judged only if the process that wrote Dagster's
pid event also wrote our host marker naming this host; runs of other hosts are left to run
monitoring (`max_runtime_seconds`) and to the reaper of their own host.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.storage.dagster_run import FINISHED_STATUSES, DagsterRunStatus, RunsFilter
from dagster._core.storage.runs import SqliteRunStorage

HOST_MARKER = "gsc run process"  # message of our engine event naming the run's host and pid
# dagster-celery's marker on "Submitting celery task for step ..." (its DELEGATE_MARKER; not
# imported: dagster-celery is an optional extra).
CELERY_DELEGATE_MARKER = "celery_queue_wait"
PID_SLACK_SECONDS = 2.0  # clock granularity between a process's start time and its first event

_JUDGED_STATUSES = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class RunProcess:
    """The process orchestrating a run, from the run's event log."""

    pid: int
    seen_at: float  # timestamp of the event that recorded it: the process existed then
    hostname: str | None  # None unless our marker was written by that same process


@dataclass(frozen=True)
class ReapedRun:
    """A run this module failed (or whose leftover slots it freed) and why."""

    run_id: str
    previous_status: str
    reason: str


def mark_run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Record this host and pid in the run's event log, so a reaper can tell the run is local."""
    instance.report_engine_event(
        HOST_MARKER,
        run,
        EngineEventData(metadata={"pid": str(os.getpid()), "hostname": socket.gethostname()}),
    )


def run_process(instance: dg.DagsterInstance, run_id: str) -> RunProcess | None:
    """The run's orchestrating process: the first engine event carrying a pid.

    Dagster writes it itself: "Started process for run (pid: N)" for launched runs, "Executing
    steps in process (pid: N)" for CLI runs, "... parent process (pid: N)" for multiprocess.
    Only events before the run hands its first step to Celery count: after that, a Celery worker
    writes "Executing steps in process" for its own pool process, which is not the run's (a CLI
    run on Celery records no pid of its own, so it has none: run monitoring bounds it).
    """
    orchestrator: RunProcess | None = None
    hostname = None
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.get_dagster_event().engine_event_data
        if data.marker_start == CELERY_DELEGATE_MARKER:
            break
        metadata = data.metadata or {}
        pid = _int_value(metadata.get("pid"))
        if pid is None:
            continue
        if orchestrator is None:
            orchestrator = RunProcess(pid, record.timestamp, None)
        # Our marker is told by its metadata: on a PostgreSQL event log its record's
        # user_message is empty (the text is only in the event's message).
        if "hostname" in metadata and pid == orchestrator.pid:
            hostname = str(getattr(metadata.get("hostname"), "value", ""))
    if orchestrator is None:
        return None
    return RunProcess(orchestrator.pid, orchestrator.seen_at, hostname)


def process_alive(pid: int, existed_at: float) -> bool:
    """Whether `pid` is a live process that already existed at `existed_at` (not a reused pid).

    A zombie (killed, not yet reaped by its parent) counts as dead. Without /proc (macOS) only
    existence is checked.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started_at = stat
    if state == "Z":
        return False
    return started_at is None or started_at <= existed_at + PID_SLACK_SECONDS


def is_single_machine(instance: dg.DagsterInstance) -> bool:
    """SQLite run storage lives in files under DAGSTER_HOME: only one machine can use it."""
    return isinstance(instance.run_storage, SqliteRunStorage)


def reap_dead_runs(
    instance: dg.DagsterInstance,
    *,
    exclude: Collection[str] = (),
    log: Callable[[str], None] | None = None,
) -> list[ReapedRun]:
    """Fail the STARTED/CANCELING runs whose process is gone on this machine, free their pool
    slots and run-queue places; free the slots finished runs still hold. Returns what was done."""
    if instance.is_ephemeral:
        return []
    reaped = [*_fail_dead_runs(instance, exclude), *_free_finished_holders(instance)]
    for run in reaped:
        if log is not None:
            log(f"run {run.run_id} ({run.previous_status}): {run.reason}")
    return reaped


def _fail_dead_runs(instance: dg.DagsterInstance, exclude: Collection[str]) -> list[ReapedRun]:
    local = is_single_machine(instance)
    host = socket.gethostname()
    reaped = []
    for record in instance.get_run_records(RunsFilter(statuses=_JUDGED_STATUSES)):
        run = record.dagster_run
        if run.run_id in exclude:
            continue
        process = run_process(instance, run.run_id)
        if process is None:
            continue  # not executing yet: run monitoring's start timeout covers it
        if not (local or process.hostname == host):
            continue  # another machine's run (or unknown): never judge a pid we cannot see
        if process_alive(process.pid, process.seen_at):
            continue
        reason = (
            f"its process (pid {process.pid} on {host}) is gone - killed, out of memory or "
            "its machine restarted; marked failed and its pool slots freed by gsc run hygiene"
        )
        instance.report_run_failed(run, f"Run {run.run_id} {reason}.")
        _free_slots(instance, run.run_id)
        reaped.append(ReapedRun(run.run_id, run.status.value, reason))
    return reaped


def _free_finished_holders(instance: dg.DagsterInstance) -> list[ReapedRun]:
    """What the daemon's `free_slots_after_run_end_seconds` does, for machines without a daemon."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = storage.get_concurrency_run_ids()
    if not holders:
        return []
    finished = instance.get_run_records(
        RunsFilter(run_ids=list(holders), statuses=FINISHED_STATUSES)
    )
    reaped = []
    for record in finished:
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
        reason = "had ended but still held pool slots; freed by gsc run hygiene"
        reaped.append(ReapedRun(record.dagster_run.run_id, record.dagster_run.status.value, reason))
    return reaped


def _free_slots(instance: dg.DagsterInstance, run_id: str) -> None:
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def _int_value(value: object) -> int | None:
    raw = getattr(value, "value", value)
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """(state, start time as a Unix timestamp) from /proc, or None where /proc is unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    state = fields[0]
    try:
        ticks = int(fields[19])  # field 22 of stat(5): start time in clock ticks after boot
        return state, _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return state, None


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")
