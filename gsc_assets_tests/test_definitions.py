"""Definitions load and validate, with and without configuration, and resolve every asset."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg

from gsc_assets.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[1]
SYNC_ASSETS = ["gsc_site_daily", "gsc_page_daily", "gsc_page_query_daily"]


def test_definitions_resolve_every_asset_with_no_configuration():
    defs = build_definitions({})
    dg.Definitions.validate_loadable(defs)
    for name in [*SYNC_ASSETS, "gsc_page_lifetime"]:
        assert defs.resolve_assets_def(name).key == dg.AssetKey(name)
    defs.resolve_implicit_global_asset_job_def()


def test_sync_assets_are_daily_partitioned_in_pacific_time_and_pooled():
    defs = build_definitions({"GSC_START_DATE": "2026-10-01", "GSC_DATA_STATE": "final"})
    for name in SYNC_ASSETS:
        asset = defs.resolve_assets_def(name)
        partitions = asset.partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)
        assert partitions.timezone == "America/Los_Angeles"
        assert partitions.get_first_partition_key() == "2026-10-01"
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()


def test_daily_reports_carry_dagsters_freshness_policy_and_every_asset_links_its_code():
    defs = build_definitions({"GSC_SITES": "https://a.example/", "GSC_URL_INSPECTION": "true"})
    graph = defs.resolve_asset_graph()
    for name in SYNC_ASSETS:
        policy = graph.get(dg.AssetKey(name)).freshness_policy
        assert policy is not None, name
        assert (policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()) == (
            dt.timedelta(hours=26),
            dt.timedelta(hours=48),
        )
    keys = graph.get_all_asset_keys()
    assert {"gsc_sites", "gsc_url_inspection", "gsc_page_lifetime"} <= {k.path[-1] for k in keys}
    for key in keys:
        references = graph.get(key).metadata["dagster/code_references"].code_references
        assert [Path(ref.file_path).parent for ref in references] == [ROOT / "gsc_assets" / "defs"]


def test_dagster_cli_validates_the_project_definitions():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "gsc_assets.definitions",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_dg_checks_the_project_definitions_and_lists_the_component_type():
    # The dg project (pyproject [tool.dg]): what `dg check defs` in CI and `dg dev` load.
    dg_cli = str(Path(sys.executable).parent / "dg")
    checked = subprocess.run(
        [dg_cli, "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = subprocess.run(
        [dg_cli, "list", "components"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "gsc_assets.SearchConsoleComponent" in listed.stdout


def test_a_configuration_mistake_prints_the_message_block_alone():
    import os
    import subprocess
    import sys

    env = {**os.environ, "GSC_QPM_BUDGET": "0", "GSC_SEARCH_TYPES": "web,pictures"}
    done = subprocess.run(
        [sys.executable, "-c", "import gsc_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("invalid configuration:\n")
    assert "GSC_QPM_BUDGET" in done.stderr and "GSC_SEARCH_TYPES" in done.stderr
