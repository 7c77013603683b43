"""Fresh hour-by-hour data: which recent days to fetch, and their sync through the daily path.

Search Console serves hourly rows (dimension hour, dataState hourly_all) for the last
`HOURLY_WINDOW_DAYS` days, today included. A run fetches every day of that window not yet stored
as complete and publishes each date atomically, with `is_complete` per hour from
`metadata.first_incomplete_hour`. Days already complete are not fetched again (quota), and days
that left the window stay stored: Google will not serve them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.sync.daily import Log, SyncOutcome, sync_days
from gsc_assets.warehouse.sync_log import latest_syncs

HOURLY_WINDOW_DAYS = 10  # Google: "data for up to 10 days with an hourly breakdown"


def hourly_day_slices(
    engine: sa.Engine,
    report: Report,
    today: dt.date,
    sites: Sequence[str],
    search_types: Sequence[SearchType],
) -> list[DaySlice]:
    """The window's days not yet stored complete, oldest first, for every site and type."""
    complete = {
        (r.site_url, r.date, r.search_type)
        for r in latest_syncs(engine, report=report.name)
        if r.is_final
    }
    window = [today - dt.timedelta(days=n) for n in range(HOURLY_WINDOW_DAYS - 1, -1, -1)]
    return [
        DaySlice(site, date, search_type)
        for date in window
        for site in sites
        for search_type in search_types
        if not report.problems_for(search_type) and (site, date, search_type.value) not in complete
    ]


def sync_hourly(
    fetcher: PartitionFetcher,
    engine: sa.Engine,
    report: Report,
    days: Sequence[DaySlice],
    *,
    run_id: str | None = None,
    log: Log = lambda _message: None,
) -> SyncOutcome:
    """Fetch `report` hour by hour for `days`; publish each date as soon as it has arrived."""
    return sync_days(fetcher, engine, report, days, DataState.HOURLY_ALL, run_id=run_id, log=log)
