"""Killed runs never block the next one: their slots are freed with and without a daemon.

Contract (real processes, the shipped dagster.yaml, DAGSTER_HOME prepared by
`python -m gsc_assets.instance init`): two `dagster asset materialize` runs SIGKILLed while each
holds a `gsc_api` slot (2 of 2) are failed and their slots freed -
- without a daemon, by the next CLI run's start, which then finishes with exactly the API's rows;
- with `dagster dev` running, by its daemon (`run_hygiene_sensor`) before any new run starts.
The same without a daemon on the Postgres instance (dagster_postgres.yaml, a fresh database).
The kill-to-freed-slot time is printed (-s) for the report; bounds are hang guards only.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import expected, stored_rows
from gsc_assets_tests.e2e.processes import (
    DagsterDevProcess,
    ManagedProcess,
    gsc_env,
    init_dagster_home,
    open_instance,
    start_materialize,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

POOL = "gsc_api"
TABLE = "gsc_page_daily"
GUARD_SECONDS = 120.0  # a guard against hanging, not an assertion about speed
STALL_MS = 20_000.0
HYGIENE_MODULES = ("run_guard.py", "run_hygiene.py", "slot_wait.py", "instance.py")


def wait_for(condition, what: str, timeout_seconds: float = GUARD_SECONDS) -> float:
    """Poll until `condition()` is true; return when (time.monotonic())."""
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout_seconds:.0f} s"
        time.sleep(0.2)
    return time.monotonic()


def slot_holders(home: Path) -> set[str]:
    with open_instance(home) as instance:
        info = instance.event_log_storage.get_concurrency_info(POOL)
        return {slot.run_id for slot in info.claimed_slots}


def kill_two_runs_mid_step(sim, env, tmp_path: Path, last: dt.date) -> tuple[set[str], float]:
    """Start two slow runs, SIGKILL both once they hold both slots; (their run ids, kill time)."""
    home = Path(env["DAGSTER_HOME"])
    # Every answer takes 20 s, so each run's step holds its slot until the kill: with packed
    # requests a 10-day step at a fast API ends within seconds and the two could miss each other.
    sim.configure(latency_median_ms=STALL_MS, latency_p99_ms=STALL_MS)
    runs: list[ManagedProcess] = []
    for n in range(2):
        first = last - dt.timedelta(days=10 * n + 9)
        runs.append(
            start_materialize(
                [TABLE], env, tmp_path / f"killed-{n}.log",
                partition_range=(first.isoformat(), (first + dt.timedelta(days=9)).isoformat()),
            )
        )  # fmt: skip
    try:
        wait_for(lambda: len(slot_holders(home)) == 2, "both slots held")
    except AssertionError:
        raise AssertionError("\n".join(run.output()[-3000:] for run in runs)) from None
    held = slot_holders(home)
    for run in runs:
        os.killpg(run.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    for run in runs:
        run.process.wait(30)
        run.stop()
    sim.configure(latency_median_ms=0.0, latency_p99_ms=None)
    assert slot_holders(home) == held, "the killed runs should still hold their slots"
    return held, killed_at


def assert_dead_runs_failed(home: Path, run_ids: set[str]) -> None:
    with open_instance(home) as instance:
        for run_id in run_ids:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == DagsterRunStatus.FAILURE, run_id
            messages = [
                f"{record.user_message} {getattr(record.dagster_event, 'message', '')}"
                for record in instance.all_logs(run_id)
            ]
            assert any("is gone" in message for message in messages), messages[-5:]


def assert_exact(sim, database_url: str, day: dt.date) -> None:
    engine = make_engine(database_url)
    try:
        for site in sim.sites:
            want = expected(sim, TABLE, site, day)
            assert want and stored_rows(engine, TABLE, site, day) == want, (site, day)
    finally:
        engine.dispose()


def environment(
    sim, tmp_path: Path, last: dt.date, postgres_url: str | None = None
) -> tuple[dict[str, str], str]:
    """The CLI runs' environment and warehouse URL: SQLite files, or (postgres_url) the instance
    made by `init --storage postgres` and the warehouse both in that PostgreSQL database."""
    database = postgres_url or f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    extra = {
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (last - dt.timedelta(days=30)).isoformat(),
        "GSC_MAX_CONCURRENCY": "2",
    }
    if postgres_url is not None:
        extra["GSC_DAGSTER_PG_URL"] = postgres_url
    home = tmp_path / "dagster_home"
    env = gsc_env(
        dagster_home=home,
        api_base_url=sim.base_url,
        sites=sim.sites,
        database_url=database,
        extra=extra,
    )
    init_dagster_home(home, storage="sqlite" if postgres_url is None else "postgres", env=env)
    return env, database


def test_killed_runs_do_not_block_the_next_cli_run_without_a_daemon(make_simulator, tmp_path):
    sim = make_simulator()
    last = today_pacific() - dt.timedelta(days=4)
    env, database = environment(sim, tmp_path, last)
    third_run_frees_the_slots_and_finishes(sim, env, database, tmp_path, last, "no daemon")


@pytest.mark.postgres
def test_killed_runs_do_not_block_the_next_cli_run_on_a_postgres_instance(
    make_simulator, fresh_database, tmp_path, monkeypatch
):
    # On a shared instance a run is judged only by a reaper on the host its process recorded.
    monkeypatch.setenv("GSC_DAGSTER_PG_URL", fresh_database)  # this process reads the instance
    sim = make_simulator()
    last = today_pacific() - dt.timedelta(days=4)
    env, database = environment(sim, tmp_path, last, postgres_url=fresh_database)
    third_run_frees_the_slots_and_finishes(
        sim, env, database, tmp_path, last, "postgres, no daemon"
    )


def third_run_frees_the_slots_and_finishes(
    sim, env: dict[str, str], database: str, tmp_path: Path, last: dt.date, mode: str
) -> None:
    """Two runs killed holding both slots; a third CLI run frees them, finishes exactly."""
    home = Path(env["DAGSTER_HOME"])
    dead, killed_at = kill_two_runs_mid_step(sim, env, tmp_path, last)

    third = start_materialize([TABLE], env, tmp_path / "third.log", partition=last.isoformat())
    with third:
        freed_at = wait_for(lambda: not (slot_holders(home) & dead), "dead runs' slots freed")
        started = time.monotonic()
        while third.process.poll() is None:
            assert time.monotonic() - started < GUARD_SECONDS, third.output()[-3000:]
            time.sleep(0.2)
        finished_at = time.monotonic()
        output = third.output()
    print(  # noqa: T201 - the numbers the report quotes
        f"\n{mode}: slots freed {freed_at - killed_at:.1f} s after the kill (third run started "
        f"right after it); third run done {finished_at - killed_at:.1f} s after the kill"
    )
    assert third.process.returncode == 0, output[-3000:]
    assert "Step blocked by limit" not in output or "is gone" in output
    # Run hygiene adds no warnings of its own (a deprecated Dagster API warned on every run).
    assert not [
        line
        for line in output.splitlines()
        if "Warning" in line and any(f"gsc_assets/defs/{m}" in line for m in HYGIENE_MODULES)
    ]
    assert_dead_runs_failed(home, dead)
    assert slot_holders(home) == set()
    assert_exact(sim, database, last)


def test_killed_runs_are_freed_by_the_daemon_before_the_next_run(make_simulator, tmp_path):
    sim = make_simulator()
    last = today_pacific() - dt.timedelta(days=4)
    env, database = environment(sim, tmp_path, last)
    home = Path(env["DAGSTER_HOME"])
    with DagsterDevProcess(env, tmp_path) as dev:
        dev.wait_for_daemons(("SENSOR", "MONITORING"))
        dead, killed_at = kill_two_runs_mid_step(sim, env, tmp_path, last)
        freed_at = wait_for(lambda: not (slot_holders(home) & dead), "daemon freed the slots")
        print(  # noqa: T201 - the numbers the report quotes
            f"\ndagster dev daemon: slots freed {freed_at - killed_at:.1f} s after the kill"
        )
        assert_dead_runs_failed(home, dead)
        third = start_materialize([TABLE], env, tmp_path / "third.log", partition=last.isoformat())
        with third:
            started = time.monotonic()
            while third.process.poll() is None:
                assert time.monotonic() - started < GUARD_SECONDS, third.output()[-3000:]
                time.sleep(0.2)
            assert third.process.returncode == 0, third.output()[-3000:]
    assert_exact(sim, database, last)
