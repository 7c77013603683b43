"""Interrupting a run (what Dagster does when a run is cancelled) stops every request at once.

Contract: a `dagster asset materialize` process interrupted while its fetcher has requests queued
and in flight exits promptly, the simulator receives no request after the process has gone, and
no date is left half-written: each date holds either nothing or exactly the API's rows.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.e2e.processes import REPO_ROOT, gsc_env, make_dagster_home, venv_bin

pytestmark = pytest.mark.e2e

DATES = 20
# page x query: the bigger site's days reach the 50,000-row cap, so each costs 2 requests that
# cannot be packed with other days: enough work in flight to interrupt.


def test_interrupted_run_stops_requesting_and_leaves_no_partial_date(
    make_simulator, tmp_path: Path
):
    sim = make_simulator(latency_median_ms=400.0, latency_p99_ms=800.0)
    last = today_pacific() - dt.timedelta(days=5)
    first = last - dt.timedelta(days=DATES - 1)
    database = tmp_path / "warehouse.sqlite"
    env = gsc_env(
        dagster_home=make_dagster_home(tmp_path / "dagster_home"),
        api_base_url=sim.base_url,
        sites=sim.sites,
        database_url=f"sqlite:///{database}",
        extra={
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (first - dt.timedelta(days=1)).isoformat(),
            "GSC_MAX_CONCURRENCY": "4",
        },
    )
    process = subprocess.Popen(
        [
            venv_bin("dagster"),
            "asset",
            "materialize",
            "-m",
            "gsc_assets.definitions",
            "--select",
            PAGE_QUERY_REPORT.table,
            "--partition-range",
            f"{first}...{last}",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while sim.stats()["query_requests"] < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is None, "the run ended before it could be interrupted"

    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    output = process.communicate(timeout=60)[0]
    exited_after = time.monotonic() - interrupted
    requests_at_exit = sim.stats()["query_requests"]
    time.sleep(1.5)

    print(  # noqa: T201 - the measured numbers, shown with -s
        f"exited {exited_after:.2f} s after the interrupt; {requests_at_exit} requests of "
        f"{DATES * len(sim.sites) * 2} sent"
    )
    assert process.returncode != 0, output[-2000:]
    assert sim.stats()["query_requests"] == requests_at_exit
    assert requests_at_exit < 2 * DATES * len(sim.sites)  # most of the work was never requested
    assert exited_after < 30
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                sa.text("select date, count(*) from gsc_page_query_daily group by date")
            ).all()
        )
    engine.dispose()
    for date, count in counts.items():
        day = dt.date.fromisoformat(str(date)[:10])
        expected = sum(
            len(sim.expected_rows(site, day, "web", ["date", "page", "query"], "byPage", "final"))
            for site in sim.sites
        )
        assert count == expected, (day, count, expected)
