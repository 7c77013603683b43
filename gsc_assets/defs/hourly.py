"""Fresh hour-by-hour assets (`gsc_site_hourly`, `gsc_page_hourly`): opt-in via GSC_REPORTS.

Search Console serves hourly rows (dimension hour, dataState hourly_all) for the last
`HOURLY_WINDOW_DAYS` days, today included. Each run fetches every day of that window not yet
stored as complete, and replaces each (site, date, search type) day atomically, with
`is_complete` per hour from `metadata.first_incomplete_hour`. Days already complete are not
fetched again (quota), and days that left the window stay stored: Google will not serve them again.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.assets import API_POOL, require_sync_settings, sites_for_run
from gsc_assets.defs.partitions import PACIFIC_TIMEZONE
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.settings import Settings
from gsc_assets.warehouse.hourly import replace_hourly_days
from gsc_assets.warehouse.sync_log import latest_syncs

FRESH_GROUP = "search_console_fresh"
HOURLY_WINDOW_DAYS = 10  # Google: "data for up to 10 days with an hourly breakdown"
HOURLY_JOB_NAME = "gsc_hourly_job"


@dataclass
class HourlyOutcome:
    """What one hourly sync did."""

    days: list[DaySlice] = field(default_factory=list)
    rows_written: int = 0
    rows_replaced: int = 0
    incomplete_hours: int = 0
    first_incomplete_hour: str | None = None


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
    log: Callable[[str], None] = lambda _message: None,
) -> HourlyOutcome:
    """Fetch `report` hour by hour for `days`; replace each day as soon as it has arrived."""
    outcome = HourlyOutcome()
    for day, results in fetcher.iter_days(days, [report], DataState.HOURLY_ALL):
        batch = results[report.name]
        written = replace_hourly_days(engine, [batch], run_id=run_id)
        outcome.days.append(day)
        outcome.rows_written += written.rows_inserted
        outcome.rows_replaced += written.rows_deleted
        if batch.first_incomplete_hour:
            outcome.first_incomplete_hour = batch.first_incomplete_hour
            first = dt.datetime.fromisoformat(batch.first_incomplete_hour)
            outcome.incomplete_hours += sum(
                1 for row in batch.rows if dt.datetime.fromisoformat(row[0]) >= first
            )
        log(f"{report.table} {day.describe()}: wrote {written.rows_inserted} hourly rows")
    return outcome


def build_hourly_asset(report: Report, settings: Settings) -> dg.AssetsDefinition:
    """An unpartitioned asset keeping `report.table` equal to Google's recent hourly rows."""

    @dg.asset(
        name=report.table,
        group_name=FRESH_GROUP,
        pool=API_POOL,
        kinds={"sql"},
        tags={"gsc/report": report.name},
        description=f"Search Console {report.description}: dimensions "
        f"{[d.value for d in report.request_dimensions]}, aggregation "
        f"{report.aggregation_type.value}, dataState hourly_all. The last {HOURLY_WINDOW_DAYS} "
        "days hour by hour, each day replaced atomically; `is_complete` marks final hours.",
    )
    def hourly_asset(
        context: dg.AssetExecutionContext,
        search_console: SearchConsoleResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        require_sync_settings(settings)
        sites = sites_for_run(context.run.tags, settings.sites)
        days = hourly_day_slices(
            warehouse.engine, report, today_pacific(), sites, settings.search_types
        )
        with search_console.open_fetcher(progress=context.log.info) as fetcher:
            outcome = sync_hourly(
                fetcher,
                warehouse.engine,
                report,
                days,
                run_id=context.run.run_id,
                log=context.log.info,
            )
        metadata = {
            "rows": outcome.rows_written,
            "rows_replaced": outcome.rows_replaced,
            "days": len(outcome.days),
            "incomplete_hours": outcome.incomplete_hours,
            **fetcher.stats.as_metadata(),
        }
        if outcome.first_incomplete_hour:
            metadata["first_incomplete_hour"] = dg.MetadataValue.text(outcome.first_incomplete_hour)
        return dg.MaterializeResult(metadata=metadata)

    return hourly_asset


def build_hourly_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    """Every hour at :20: today's new hours and the still incomplete ones."""
    return dg.ScheduleDefinition(
        name="gsc_hourly_schedule",
        job=job,
        cron_schedule="20 * * * *",
        execution_timezone=PACIFIC_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
