"""Definitions load and validate, with and without configuration, and resolve every asset."""

from __future__ import annotations

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
