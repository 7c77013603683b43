"""The `gsc_api` pool in dagster.yaml caps sync steps across runs that bypass the run queue.

Contract: three `dagster asset materialize` processes started together (CLI runs skip the run
queue, so only the pool can cap them) never have more sync steps executing at once than the
pool's limit, read from the shipped dagster.yaml; and the runs did overlap, so the cap was needed.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType

from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.reports.limits import today_pacific
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    gsc_env,
    make_dagster_home,
    open_instance,
    venv_bin,
)

pytestmark = pytest.mark.e2e

SYNC_STEPS = {report.table for report in CORE_REPORTS}
RUNS = 3


def pool_limit() -> int:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    return int(config["concurrency"]["pools"]["default_limit"])


def step_intervals(instance) -> list[tuple[float, float]]:
    """(start, end) of every sync step of every run in the instance, from the event log."""
    intervals = []
    for run in instance.get_runs():
        starts, ends = {}, {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key not in SYNC_STEPS:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = record.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                ends[event.step_key] = record.timestamp
        intervals += [(starts[key], ends[key]) for key in starts]
    return intervals


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def test_parallel_cli_runs_never_execute_more_sync_steps_than_the_pool_allows(
    make_simulator, tmp_path: Path
):
    sim = make_simulator(latency_median_ms=150.0)
    home = make_dagster_home(tmp_path / "dagster_home")
    last = today_pacific() - dt.timedelta(days=5)
    env = gsc_env(
        dagster_home=home,
        api_base_url=sim.base_url,
        sites=sim.sites,
        database_url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        extra={
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (last - dt.timedelta(days=10)).isoformat(),
        },
    )
    with open_instance(home):
        pass  # create the instance's SQLite storage once: three processes racing to migrate it fail
    select = ",".join(sorted(SYNC_STEPS))
    processes = [
        subprocess.Popen(
            [
                venv_bin("dagster"),
                "asset",
                "materialize",
                "-m",
                "gsc_assets.definitions",
                "--select",
                select,
                "--partition",
                (last - dt.timedelta(days=n)).isoformat(),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(RUNS)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    failed = [out[-3000:] for p, out in zip(processes, outputs, strict=True) if p.returncode]
    assert not failed, failed[0]

    with open_instance(home) as instance:
        intervals = step_intervals(instance)
        # No live run may have been judged dead (that would free its slot to a third step).
        statuses = {run.run_id: run.status.value for run in instance.get_runs()}
        run_spans = [
            (min(s for s, _ in group), max(e for _, e in group))
            for group in [
                intervals[i : i + len(SYNC_STEPS)]
                for i in range(0, len(intervals), len(SYNC_STEPS))
            ]
        ]
    assert len(intervals) == RUNS * len(SYNC_STEPS)
    assert most_at_once(run_spans) >= 2, "the runs did not overlap: the test proves nothing"
    print(  # noqa: T201 - the measured numbers, shown with -s
        f"runs overlapping at most: {most_at_once(run_spans)}; "
        f"sync steps at once: {most_at_once(intervals)}"
    )
    assert set(statuses.values()) == {"SUCCESS"}, statuses
    assert most_at_once(intervals) <= pool_limit(), sorted(intervals)
