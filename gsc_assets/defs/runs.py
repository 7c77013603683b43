"""Run the assets in-process for a date range (the demo and the tests use this; Dagster's CLI,
UI and schedule launch the same job out of process)."""

import datetime as dt
from collections.abc import Mapping, Sequence

import dagster as dg

from gsc_assets.defs.schedules import RANGE_END_TAG, RANGE_START_TAG

SYNC_JOB_NAME = "gsc_sync_job"


def materialize_dates(
    defs: dg.Definitions,
    asset_names: Sequence[str],
    first: dt.date,
    last: dt.date,
    *,
    instance: dg.DagsterInstance,
    raise_on_error: bool = False,
    log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    """One run materializing `asset_names` for every date in [first, last] (single-run policy)."""
    tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
    return _execute(defs, asset_names, tags, instance, raise_on_error, log_level)


def materialize_unpartitioned(
    defs: dg.Definitions,
    asset_names: Sequence[str],
    *,
    instance: dg.DagsterInstance,
    raise_on_error: bool = False,
    log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    """One run materializing unpartitioned assets (the lifetime stats)."""
    return _execute(defs, asset_names, {}, instance, raise_on_error, log_level)


def _execute(
    defs: dg.Definitions,
    asset_names: Sequence[str],
    tags: Mapping[str, str],
    instance: dg.DagsterInstance,
    raise_on_error: bool,
    log_level: str,
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(SYNC_JOB_NAME).execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance,
        asset_selection=[dg.AssetKey(name) for name in asset_names],
        tags=tags,
        raise_on_error=raise_on_error,
    )
