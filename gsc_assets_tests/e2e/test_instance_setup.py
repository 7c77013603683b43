"""Instance set-up happens once, and a step waiting for a pool slot says who holds it.

Contract (real processes, the shipped dagster.yaml):
- four `dagster asset materialize` runs started together on a brand-new DAGSTER_HOME prepared by
  `python -m gsc_assets.instance init` all succeed (without it, three fail migrating storage);
- a run whose step waits for a `gsc_api` slot held by a live run logs the holder's run id and how
  long it has held the slot, and past GSC_POOL_WAIT_TIMEOUT_SECONDS fails with that message
  instead of waiting forever; the holder is not disturbed.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from gsc_assets.reports.limits import today_pacific
from gsc_assets_tests.e2e.processes import (
    gsc_env,
    init_dagster_home,
    open_instance,
    start_materialize,
)
from gsc_assets_tests.e2e.test_dead_runs import (
    GUARD_SECONDS,
    POOL,
    STALL_MS,
    slot_holders,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PARALLEL_RUNS = 4
WAIT_LIMIT_SECONDS = 10


def settings_env(sim, home: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    last = today_pacific() - dt.timedelta(days=4)
    return gsc_env(
        dagster_home=home,
        api_base_url=sim.base_url,
        sites=sim.sites,
        database_url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        extra={
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (last - dt.timedelta(days=30)).isoformat(),
            **extra,
        },
    )


def finish(process, guard: float = GUARD_SECONDS) -> str:
    deadline = time.monotonic() + guard
    while process.process.poll() is None:
        assert time.monotonic() < deadline, process.output()[-3000:]
        time.sleep(0.2)
    return process.output()


def test_parallel_first_runs_on_a_home_prepared_by_instance_init_all_succeed(
    make_simulator, tmp_path
):
    sim = make_simulator()
    home = init_dagster_home(tmp_path / "dagster_home")
    with open_instance(home) as instance:
        # The pool exists before any run: first runs racing to create it fail on Postgres.
        assert instance.event_log_storage.get_concurrency_info(POOL).slot_count == 2
    env = settings_env(sim, home, tmp_path)
    last = today_pacific() - dt.timedelta(days=4)
    runs = [
        start_materialize(
            ["gsc_site_daily"], env, tmp_path / f"run-{n}.log",
            partition=(last - dt.timedelta(days=n)).isoformat(),
        )
        for n in range(PARALLEL_RUNS)
    ]  # fmt: skip
    try:
        outputs = [finish(run) for run in runs]
    finally:
        for run in runs:
            run.stop()
    failed = [out[-3000:] for run, out in zip(runs, outputs, strict=True) if run.process.returncode]
    assert not failed, failed[0]
    with open_instance(home) as instance:
        assert [run.status for run in instance.get_runs()] == [DagsterRunStatus.SUCCESS] * 4


def test_a_step_blocked_on_a_held_slot_logs_the_holder_and_gives_up_after_the_limit(
    make_simulator, tmp_path
):
    # Every answer takes 20 s and the holder sends one request at a time, so it holds its slot
    # for minutes, however fast the blocked run starts and gives up (at 2 s an answer the holder
    # once finished first on a loaded CI machine).
    sim = make_simulator(latency_median_ms=STALL_MS, latency_p99_ms=STALL_MS)
    home = init_dagster_home(tmp_path / "dagster_home")
    with open_instance(home) as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
    env = settings_env(
        sim,
        home,
        tmp_path,
        GSC_POOL_WAIT_TIMEOUT_SECONDS=str(WAIT_LIMIT_SECONDS),
        GSC_MAX_CONCURRENCY="1",
    )
    last = today_pacific() - dt.timedelta(days=4)
    holder = start_materialize(
        ["gsc_page_query_daily"], env, tmp_path / "holder.log",
        partition_range=((last - dt.timedelta(days=9)).isoformat(), last.isoformat()),
    )  # fmt: skip
    with holder:
        wait_for(lambda: len(slot_holders(home)) == 1, "the holder's slot")
        (holder_run,) = slot_holders(home)
        blocked = start_materialize(
            ["gsc_page_daily"], env, tmp_path / "blocked.log", partition=last.isoformat()
        )
        with blocked:
            output = finish(blocked)
        assert holder.process.poll() is None, "the holder must not be disturbed"
        assert slot_holders(home) == {holder_run}
    print(f"\n{[line for line in output.splitlines() if 'waiting' in line][:1]}")  # noqa: T201
    assert blocked.process.returncode != 0
    assert f"run {holder_run} (STARTED, pid" in output
    assert "holds it for" in output
    assert f"Gave up after {WAIT_LIMIT_SECONDS} s (GSC_POOL_WAIT_TIMEOUT_SECONDS)" in output
    with open_instance(home) as instance:
        (blocked_run,) = [r for r in instance.get_runs() if r.run_id != holder_run]
        assert blocked_run.status == DagsterRunStatus.FAILURE
