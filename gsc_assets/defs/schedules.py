"""The daily schedule: re-sync the late-data window, then refresh the lifetime stats.

Search Console keeps changing a day for about three days, so every morning (Pacific Time) one run
re-fetches every date from `LATE_DATA_WINDOW_DAYS` ago up to the newest day it serves, plus any
older partition the sync log still marks non-final (a missed morning must not freeze fresh numbers),
then updates `gsc_page_lifetime`. The run key is the tick's date, so a tick evaluated twice launches
one run; a second run would in any case only replace partitions with the same rows.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import datetime as dt
from collections.abc import Callable

import dagster as dg

from gsc_assets.defs.partitions import PACIFIC_TIMEZONE
from gsc_assets.settings import Settings, today_pacific

LATE_DATA_WINDOW_DAYS = 4
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

OldestNonFinal = Callable[[], dt.date | None]


def late_data_window(
    today: dt.date, settings: Settings, oldest_non_final: dt.date | None
) -> tuple[dt.date, dt.date]:
    """First and last date to re-sync on `today` (Pacific), clipped to the partitions that exist."""
    last = today - dt.timedelta(days=settings.last_partition_offset_days)
    first = today - dt.timedelta(days=LATE_DATA_WINDOW_DAYS)
    if oldest_non_final is not None:
        first = min(first, oldest_non_final)
    return max(first, settings.start_date), last


def build_daily_schedule(
    job: "dg.UnresolvedAssetJobDefinition | dg.JobDefinition",
    settings: Settings,
    oldest_non_final: OldestNonFinal,
) -> dg.ScheduleDefinition:
    """`gsc_daily_schedule`: 06:00 Pacific, one run over the late-data window."""

    @dg.schedule(
        name="gsc_daily_schedule",
        job=job,
        cron_schedule="0 6 * * *",
        execution_timezone=PACIFIC_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every morning: re-sync the last {LATE_DATA_WINDOW_DAYS} days up to the newest "
        "day Search Console serves (and any older non-final partition), then the lifetime stats.",
    )
    def gsc_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        today = today_pacific(context.scheduled_execution_time)
        first, last = late_data_window(today, settings, oldest_non_final())
        if first > last:
            return dg.SkipReason(f"no partitions between {settings.start_date} and {last}")
        return dg.RunRequest(
            run_key=f"gsc_daily@{today.isoformat()}",
            tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        )

    return gsc_daily_schedule

