"""Fresh hour-by-hour assets (`gsc_site_hourly`, `gsc_page_hourly`): opt-in via GSC_REPORTS.

The work is `gsc_assets.sync.hourly` (which days, fetched and published through the daily path);
this module only wires it into an unpartitioned asset and an hourly schedule.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from typing import TYPE_CHECKING

import dagster as dg

from gsc_assets.defs.assets import API_POOL, require_sync_settings, sites_for_run, table_metadata
from gsc_assets.defs.columns import describe_report
from gsc_assets.defs.metadata import sync_metadata
from gsc_assets.defs.partitions import PACIFIC_TIMEZONE
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.defs.scope import Scope
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.report import Report
from gsc_assets.sync.hourly import HOURLY_WINDOW_DAYS, hourly_day_slices, sync_hourly
from gsc_assets.warehouse.schema import table_for

if TYPE_CHECKING:  # the type of define_asset_job's result (not exported by dagster)
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

__all__ = ["HOURLY_JOB_NAME", "HOURLY_WINDOW_DAYS", "build_hourly_asset", "build_hourly_schedule"]

FRESH_GROUP = "search_console_fresh"
HOURLY_JOB_NAME = "gsc_hourly_job"


def build_hourly_asset(report: Report, scope: Scope) -> dg.AssetsDefinition:
    """An unpartitioned asset keeping `report.table` equal to Google's recent hourly rows."""
    settings = scope.settings

    @dg.asset(
        key=scope.asset_key(report.table),
        group_name=f"{scope.group_name}_fresh" if scope.key_prefix else FRESH_GROUP,
        pool=API_POOL,
        kinds=scope.kinds,
        owners=list(scope.owners),
        tags={**scope.tags, "gsc/report": report.name},
        required_resource_keys={scope.search_console_key, scope.warehouse_key},
        metadata=table_metadata(table_for(report)),
        description=f"{describe_report(report)} The window is the last {HOURLY_WINDOW_DAYS} "
        "days (dataState hourly_all); `is_complete` is true for hours Google will not change.",
    )
    def hourly_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        require_sync_settings(settings)
        search_console: SearchConsoleResource = getattr(context.resources, scope.search_console_key)
        warehouse: WarehouseResource = getattr(context.resources, scope.warehouse_key)
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
        return dg.MaterializeResult(metadata=sync_metadata(outcome, fetcher.stats))

    return hourly_asset


def build_hourly_schedule(
    job: "dg.JobDefinition | UnresolvedAssetJobDefinition", scope: Scope
) -> dg.ScheduleDefinition:
    """Every hour at :20: today's new hours and the still incomplete ones."""
    return dg.ScheduleDefinition(
        name=scope.name("gsc_hourly_schedule"),
        job=job,
        cron_schedule="20 * * * *",
        execution_timezone=PACIFIC_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if scope.schedule_running
        else dg.DefaultScheduleStatus.STOPPED,
    )
