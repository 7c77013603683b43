"""Run the assets in-process for a date range (the demo and the tests use this; Dagster's CLI,
UI and schedule launch the same job out of process)."""

import datetime as dt
from collections.abc import Sequence

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
    job = defs.resolve_job_def(SYNC_JOB_NAME)
    return job.execute_in_process(
        run_config=_console_logging(log_level),
        instance=instance,
        asset_selection=[dg.AssetKey(name) for name in asset_names],
        tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        raise_on_error=raise_on_error,
    )


def materialize_unpartitioned(
    defs: dg.Definitions,
    asset_names: Sequence[str],
    *,
    instance: dg.DagsterInstance,
    raise_on_error: bool = False,
    log_level: str = "DEBUG",
) -> dg.ExecuteInProcessResult:
    """One run materializing unpartitioned assets (the lifetime stats)."""
    job = defs.resolve_job_def(SYNC_JOB_NAME)
    return job.execute_in_process(
        run_config=_console_logging(log_level),
        instance=instance,
        asset_selection=[dg.AssetKey(name) for name in asset_names],
        raise_on_error=raise_on_error,
    )


def _console_logging(level: str) -> dict[str, object]:
    return {"loggers": {"console": {"config": {"log_level": level}}}}
