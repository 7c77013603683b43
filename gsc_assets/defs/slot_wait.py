"""A step waiting for a pool slot says why, heals a wait on dead holders, and gives up in time.

Dagster's own message, "Step blocked by limit for pool gsc_api", names neither the holders nor
how long they have held the slots, repeats only every 5 minutes, and the wait has no limit. The
executor's wait loop offers no hook, so `PoolWaitWatch` watches from a daemon thread of the run's
process: it reads the pool's claimed slots and this run's pending claims from the instance
(`get_concurrency_info`), fails holders whose process is gone (run_hygiene), logs the holders,
and past `GSC_POOL_WAIT_TIMEOUT_SECONDS` fails the run with that message.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import dagster as dg

from gsc_assets.defs.run_hygiene import process_alive, reap_dead_runs, run_process
from gsc_assets.settings import SettingsError

POOL_WAIT_TIMEOUT_VARIABLE = "GSC_POOL_WAIT_TIMEOUT_SECONDS"
DEFAULT_POOL_WAIT_TIMEOUT_SECONDS = 3600.0
POLL_SECONDS = 2.0
FIRST_REPORT_SECONDS = 5.0  # short waits are normal (a step finishing elsewhere): stay quiet
REPORT_EVERY_SECONDS = 60.0


def pool_wait_timeout_from_env(environ: Mapping[str, str]) -> float:
    """`GSC_POOL_WAIT_TIMEOUT_SECONDS`: seconds a step may wait for a pool slot (0 = no limit)."""
    raw = environ.get(POOL_WAIT_TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_POOL_WAIT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SettingsError(
            f"invalid configuration:\n- {POOL_WAIT_TIMEOUT_VARIABLE}: {raw!r} is not a number of "
            "seconds >= 0; use e.g. 3600 (0 waits for a pool slot without limit)"
        )
    return value


class PoolWaitTimeoutError(RuntimeError):
    """Raised in the run's main thread when a step waited longer than the limit for a slot."""

    def __init__(self) -> None:
        super().__init__(
            f"gave up waiting for a pool slot ({POOL_WAIT_TIMEOUT_VARIABLE}); the run's log names "
            "the runs holding the slots"
        )


@dataclass(frozen=True)
class Holder:
    """A step holding a pool slot: which run, its state, and for how long."""

    run_id: str
    step_key: str
    status: str
    held_seconds: float | None
    process: str  # "pid N alive", "pid N gone" or "process unknown"

    def describe(self) -> str:
        """One clause of the waiting message."""
        held = "" if self.held_seconds is None else f" for {self.held_seconds:.0f} s"
        return (
            f"run {self.run_id} ({self.status}, {self.process}) holds it{held} "
            f"for step {self.step_key}"
        )


def blocked_message(
    pool: str, steps: list[str], waited: float, limit: int | None, holders: list[Holder]
) -> str:
    """What a blocked run logs: the pool, how long it waited, and every holder."""
    held = "; ".join(holder.describe() for holder in holders) or "no run holds a slot right now"
    return (
        f"Step(s) {', '.join(steps)} waiting {waited:.0f} s for a slot of pool {pool} "
        f"({len(holders)} of {limit if limit is not None else '?'} slots held): {held}. "
        f"`dagster instance concurrency get {pool}` shows the slots; runs whose process is gone "
        "are failed and their slots freed automatically."
    )


def pool_holders(instance: dg.DagsterInstance, info: object, now: float) -> list[Holder]:
    """The claimed slots of a pool (a `ConcurrencyKeyInfo`), described."""
    assigned = {
        (step.run_id, step.step_key): step.assigned_timestamp.timestamp()
        for step in info.pending_steps  # type: ignore[attr-defined]
        if step.assigned_timestamp is not None
    }
    holders = []
    for slot in info.claimed_slots:  # type: ignore[attr-defined]
        run = instance.get_run_by_id(slot.run_id)
        since = assigned.get((slot.run_id, slot.step_key))
        process = run_process(instance, slot.run_id)
        if process is None:
            state = "process unknown"
        else:
            alive = process_alive(process.pid, process.seen_at)
            state = f"pid {process.pid} {'alive' if alive else 'gone'}"
        holders.append(
            Holder(
                run_id=slot.run_id,
                step_key=slot.step_key,
                status=run.status.value if run is not None else "deleted",
                held_seconds=None if since is None else max(0.0, now - since),
                process=state,
            )
        )
    return holders


class PoolWaitWatch:
    """A daemon thread watching one run's pending pool claims (see the module docstring)."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        run: dg.DagsterRun,
        log: Callable[[str], None],
        *,
        timeout_seconds: float,
        on_timeout: Callable[[str], None] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._instance = instance
        self._run = run
        self._log = log
        self._timeout = timeout_seconds
        self._on_timeout = on_timeout or self._fail_run
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._last_report: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, name="gsc-pool-wait", daemon=True)

    def start(self) -> PoolWaitWatch:
        """Start watching; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (the thread ends within one poll)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                if self.check(time.time()):
                    return
            except Exception as error:  # a watcher must never take the run down by itself
                self._log(f"pool wait watch: {type(error).__name__}: {error}")

    def check(self, now: float) -> bool:
        """One look at every pool this run waits on; True once the run was failed for waiting."""
        storage = self._instance.event_log_storage
        for pool in sorted(storage.get_concurrency_keys()):
            info = storage.get_concurrency_info(pool)
            mine = [
                step
                for step in info.pending_steps
                if step.run_id == self._run.run_id and step.assigned_timestamp is None
            ]
            if not mine:
                self._last_report.pop(pool, None)
                continue
            if any(slot.run_id != self._run.run_id for slot in info.claimed_slots):
                reap_dead_runs(self._instance, exclude={self._run.run_id}, log=self._log)
            waited = now - min(step.enqueued_timestamp.timestamp() for step in mine)
            if waited < FIRST_REPORT_SECONDS:
                continue
            steps = sorted(step.step_key for step in mine)
            message = blocked_message(
                pool, steps, waited, info.limit, pool_holders(self._instance, info, now)
            )
            if self._timeout and waited > self._timeout:
                self._on_timeout(
                    f"{message} Gave up after {self._timeout:.0f} s "
                    f"({POOL_WAIT_TIMEOUT_VARIABLE}); re-run once the holders have finished."
                )
                return True
            if now - self._last_report.get(pool, 0.0) >= REPORT_EVERY_SECONDS:
                self._last_report[pool] = now
                self._log(message)
        return False

    def _fail_run(self, message: str) -> None:
        """Fail the run with `message`, then end the wait in the run's main thread."""
        self._log(message)
        self._instance.report_run_failed(self._run, message)
        raise_in_main_thread(PoolWaitTimeoutError)


def raise_in_main_thread(error_type: type[BaseException]) -> None:
    """Raise `error_type` in the main thread at its next bytecode (within one of Dagster's claim
    retries, at most 15 s of sleep). Why not a signal: while a step waits for a slot, Dagster
    defers SIGINT/SIGTERM (`capture_interrupts`) until the step starts, and its wait loop has no
    hook; the exception unwinds the executor, which withdraws this run's pending claims."""
    main = threading.main_thread().ident
    if main is not None:
        thread_id, error = ctypes.c_ulong(main), ctypes.py_object(error_type)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, error)
