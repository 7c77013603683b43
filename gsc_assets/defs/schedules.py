"""The daily schedule: re-sync the late-data window, then refresh the lifetime stats.

Search Console keeps changing a day for about three days, so every morning (Pacific Time) the
schedule re-fetches every date from `LATE_DATA_WINDOW_DAYS` ago up to the newest day it serves,
plus any older partition the sync log still marks non-final for that site (a missed morning must
not freeze fresh numbers), then updates `gsc_page_lifetime`.

One run per configured site, tagged `gsc/site=<site>`, so `dagster.yaml` can cap runs per site
(one site's quota is never split between two runs) while different sites sync in parallel. The
run key is (tick date, site): a tick evaluated twice launches each site's run once; a second run
would in any case only replace partitions with the same rows.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import datetime as dt
from collections.abc import Callable

import dagster as dg

from gsc_assets.defs.assets import SITE_TAG
from gsc_assets.defs.partitions import PACIFIC_TIMEZONE
from gsc_assets.defs.scope import Scope
from gsc_assets.reports.limits import today_pacific
from gsc_assets.settings import Settings

LATE_DATA_WINDOW_DAYS = 4
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# The oldest date the sync log still marks non-final for a site (None: every site), if any.
OldestNonFinal = Callable[[str | None], dt.date | None]


def late_data_window(
    today: dt.date, settings: Settings, oldest_non_final: dt.date | None
) -> tuple[dt.date, dt.date]:
    """First and last date to re-sync on `today` (Pacific), clipped to the partitions that exist."""
    last = today - dt.timedelta(days=settings.last_partition_offset_days)
    first = today - dt.timedelta(days=LATE_DATA_WINDOW_DAYS)
    if oldest_non_final is not None:
        first = min(first, oldest_non_final)
    return max(first, settings.start_date), last


def daily_run_requests(
    today: dt.date, settings: Settings, oldest_non_final: OldestNonFinal
) -> list[dg.RunRequest] | dg.SkipReason:
    """One RunRequest per configured site for the tick of `today` (Pacific).

    Without configured sites, one untagged request: its run fails at start saying GSC_SITES is
    missing, which an operator sees, where a skipped tick would go unnoticed.
    """
    newest = today - dt.timedelta(days=settings.last_partition_offset_days)
    if newest < settings.start_date:
        return dg.SkipReason(
            f"no partition yet: the newest day Search Console serves ({newest}) is before "
            f"GSC_START_DATE ({settings.start_date})"
        )
    requests = []
    for site in settings.sites or (None,):
        first, last = late_data_window(today, settings, oldest_non_final(site))
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        if site is not None:
            tags[SITE_TAG] = site
        requests.append(
            dg.RunRequest(run_key=f"gsc_daily@{today.isoformat()}|{site or '*'}", tags=tags)
        )
    return requests


def build_daily_schedule(
    job: "dg.UnresolvedAssetJobDefinition | dg.JobDefinition",
    scope: Scope,
    oldest_non_final: OldestNonFinal,
) -> dg.ScheduleDefinition:
    """`gsc_daily_schedule`: 06:00 Pacific, one run per site over its late-data window."""
    settings = scope.settings

    @dg.schedule(
        name=scope.name("gsc_daily_schedule"),
        job=job,
        cron_schedule=scope.schedule_cron,
        execution_timezone=PACIFIC_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if scope.schedule_running
        else dg.DefaultScheduleStatus.STOPPED,
        description=f"Every morning, one run per site: re-sync the last {LATE_DATA_WINDOW_DAYS} "
        "days up to the newest day Search Console serves (and any older non-final partition of "
        "that site), then the lifetime stats.",
    )
    def gsc_daily_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> list[dg.RunRequest] | dg.SkipReason:
        today = today_pacific(context.scheduled_execution_time)
        return daily_run_requests(today, settings, oldest_non_final)

    return gsc_daily_schedule
