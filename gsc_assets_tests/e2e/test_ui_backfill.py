"""A backfill launched from the Dagster UI in a real browser, end to end.

Contract: `dagster dev` (webserver + daemon) on a temporary DAGSTER_HOME holding the repository's
dagster.yaml, GSC_BACKFILL_POLICY=multi_run:1 (one run per date) and the simulator; headless
Chromium opens gsc_page_daily, picks six dates in the partition picker and launches the backfill.
While it runs, the runs in progress never exceed the run cap dagster.yaml sets for a UI backfill;
afterwards every partition's run succeeded with its asset checks passing, the warehouse holds
exactly the simulator's rows for each date and site, and a screenshot of the finished backfill is
kept under test-artifacts/.

Browser: Debian's /usr/bin/chromium driven by Playwright for Python. The fixture installs it with
apt-get when missing and running as root; otherwise the test skips with the reason, or fails when
GSC_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from gsc_assets.definitions import build_definitions
from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.defs.test_assets import expected, stored_rows
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    DagsterDevProcess,
    gsc_env,
    make_dagster_home,
    open_instance,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
BACKFILL_PARTITIONS = 6
ASSET = PAGE_REPORT.table
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
FIRST_VISIT_POPUP_MS = 10_000
BACKFILL_DEADLINE_SECONDS = 240.0  # a guard against hanging; the backfill takes well under a minute


def _unavailable(reason: str) -> None:
    if os.environ.get("GSC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} and GSC_REQUIRE_BROWSER=1")
    pytest.skip(reason)


def _install_chromium() -> str | None:
    """apt-get install Debian's chromium; None on success, else why it could not be done."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright, installed first if missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        problem = _install_chromium()
        if problem is not None or not CHROMIUM.exists():
            _unavailable(f"{CHROMIUM} is missing and could not be installed: {problem}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def backfill_run_cap(instance_config: dict[str, Any]) -> int:
    """The most runs of one UI backfill the instance config lets run at once.

    UI asset backfills carry the run tag dagster/backfill=<id> (and no job tags), so the cap is
    the smaller of `max_concurrent_runs` and any dagster/backfill tag limit.
    """
    runs = (instance_config.get("concurrency") or {}).get("runs") or {}
    caps = [runs["max_concurrent_runs"]] if "max_concurrent_runs" in runs else []
    caps += [
        limit["limit"]
        for limit in runs.get("tag_concurrency_limits") or []
        if limit["key"] == "dagster/backfill"
    ]
    if not caps:
        pytest.fail("dagster.yaml sets no run cap for UI backfills (concurrency.runs)")
    return min(caps)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak


def launch_backfill_from_ui(page: Any, url: str, first: dt.date, last: dt.date) -> str:
    """Open the asset, pick [first...last] in the partition picker, launch; the backfill id."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(f"{url}/assets/{ASSET}")
    materialize = page.get_by_role("button", name="Materialize…")
    materialize.wait_for()
    # A first-visit popup shows a few seconds after the first page load.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.get_by_role("button", name="Skip").click(timeout=FIRST_VISIT_POPUP_MS)
    materialize.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"Launch runs to materialize {ASSET}").wait_for()
    picker = dialog.get_by_role("textbox")
    picker.fill(f"[{first.isoformat()}...{last.isoformat()}]")
    picker.press("Enter")
    dialog.get_by_text(f"{BACKFILL_PARTITIONS} partitions", exact=True).wait_for()
    dialog.get_by_text("maximum of 1 partitions per run").wait_for()
    dialog.get_by_role("button", name="Launch backfill").click()
    view = page.get_by_role("link", name="View", exact=True)  # in the "backfill created" toast
    view.first.wait_for(timeout=30_000)
    href = view.first.get_attribute("href") or ""
    assert href.startswith("/runs/b/"), href
    return href.removeprefix("/runs/b/")


def watch_backfill(dev: DagsterDevProcess, instance: dg.DagsterInstance, backfill_id: str) -> int:
    """Poll until the backfill and its runs are done; the most runs seen in progress at once."""
    query = (
        "query ($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on "
        "PartitionBackfill { status } } }"
    )
    backfill_runs = RunsFilter(tags={"dagster/backfill": backfill_id})
    in_progress = RunsFilter(tags={"dagster/backfill": backfill_id}, statuses=IN_PROGRESS)
    deadline = time.monotonic() + BACKFILL_DEADLINE_SECONDS
    peak = 0
    while time.monotonic() < deadline:
        peak = max(peak, instance.get_runs_count(in_progress))
        status = dev.graphql(query, {"id": backfill_id})["partitionBackfillOrError"]["status"]
        runs = instance.get_runs(backfill_runs)
        if status in BACKFILL_DONE and runs and all(run.is_finished for run in runs):
            return peak
        time.sleep(0.2)
    pytest.fail(f"backfill {backfill_id} not finished within {BACKFILL_DEADLINE_SECONDS:.0f} s")


def check_outcomes(
    instance: dg.DagsterInstance, run_ids: list[str], check_names: set[str]
) -> dict[str, set[str]]:
    """Assert every run evaluated each of the asset's checks and every ERROR check passed;
    return the WARN checks that failed, by run (warnings about the data, not about the sync)."""
    warnings = {}
    for run_id in run_ids:
        evaluations = [
            record.get_dagster_event().asset_check_evaluation_data
            for record in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
        ]
        assert {e.check_name for e in evaluations} == check_names, run_id
        failed = [e for e in evaluations if not e.passed]
        errors = [
            (e.check_name, e.metadata) for e in failed if e.severity != dg.AssetCheckSeverity.WARN
        ]
        assert errors == [], run_id
        warnings[run_id] = {e.check_name for e in failed}
    return warnings


def test_ui_backfill_respects_the_run_cap_and_stores_exactly_the_api_rows(
    chromium, make_simulator, tmp_path
):
    sim = make_simulator()
    instance_yaml = (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
    cap = backfill_run_cap(yaml.safe_load(instance_yaml))
    home = make_dagster_home(tmp_path / "dagster_home", instance_yaml)
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    settings_env = {
        "GSC_API_BASE_URL": sim.base_url,
        "GSC_ACCESS_TOKEN": "sim-token",
        "GSC_SITES": ",".join(sim.sites),
        "GSC_DATABASE_URL": warehouse_url,
        "GSC_DATA_STATE": "final",
        "GSC_START_DATE": (today_pacific() - dt.timedelta(days=30)).isoformat(),
        "GSC_BACKFILL_POLICY": "multi_run:1",
        "GSC_MAX_CONCURRENCY": "4",
        # One process per run (not one per step): 6 runs x (asset + checks) on a shared 2-core
        # machine otherwise spend most of their time starting Python processes.
        "GSC_EXECUTOR": "in_process",
        # is_fresh looks at the newest date stored when each run checks; a backfill's runs finish
        # in any order, so allow the span of the backfill (its dates are 3..8 days old).
        "GSC_FRESHNESS_MAX_AGE_DAYS": "10",
    }
    env = gsc_env(dagster_home=home, extra=settings_env)
    last = today_pacific() - dt.timedelta(days=3)  # the newest final partition: is_fresh holds
    first = last - dt.timedelta(days=BACKFILL_PARTITIONS - 1)
    dates = [first + dt.timedelta(days=i) for i in range(BACKFILL_PARTITIONS)]
    check_names = {
        key.name
        for key in build_definitions(settings_env).resolve_asset_graph().asset_check_keys
        if key.asset_key == dg.AssetKey(ASSET)
    }

    with DagsterDevProcess(env, tmp_path) as dev, open_instance(home) as instance:
        dev.wait_for_daemons()
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        started = time.monotonic()
        backfill_id = launch_backfill_from_ui(page, dev.url, first, last)
        peak_polled = watch_backfill(dev, instance, backfill_id)
        elapsed = time.monotonic() - started

        page.goto(f"{dev.url}/runs/b/{backfill_id}")
        page.get_by_text("Succeeded", exact=True).first.wait_for()
        page.get_by_text("100% completed", exact=True).first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = ARTIFACTS / "ui_backfill.png"
        page.screenshot(path=str(screenshot), full_page=True)
        page.close()

        records = instance.get_run_records(RunsFilter(tags={"dagster/backfill": backfill_id}))
        runs = [record.dagster_run for record in records]
        peak_exact = max_overlap(
            [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]
        )
        print(  # noqa: T201 - the numbers the report quotes
            f"\nUI backfill {backfill_id}: {len(runs)} runs, at most {peak_polled} polled / "
            f"{peak_exact} from run start/end times in progress (cap {cap}), {elapsed:.1f} s; "
            f"screenshot {screenshot}"
        )
        # multi_run:1 makes one run per date, tagged as a one-partition range
        ranges = sorted(
            (
                run.tags["dagster/asset_partition_range_start"],
                run.tags["dagster/asset_partition_range_end"],
            )
            for run in runs
        )
        assert ranges == [(d.isoformat(), d.isoformat()) for d in dates]
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        assert 1 <= peak_polled <= cap
        assert peak_exact <= cap
        assert instance.get_materialized_partitions(dg.AssetKey(ASSET)) == {
            d.isoformat() for d in dates
        }
        warnings = check_outcomes(instance, [run.run_id for run in runs], check_names)
        print(f"checks per run: {sorted(check_names)}; WARN failures: {warnings}")  # noqa: T201

    engine = make_engine(warehouse_url)
    try:
        for date in dates:
            for site in sim.sites:
                want = expected(sim, ASSET, site, date)
                assert want, (site, date)  # the simulator serves rows for every site and date
                assert stored_rows(engine, ASSET, site, date) == want, (site, date)
    finally:
        engine.dispose()
