"""Assets: one daily-partitioned asset per report, plus the lifetime stats derived from pages.

Each asset body is the same few steps: partition dates -> fetch (streaming, quota-shared) -> write
each date atomically -> metadata. The work itself lives in `sync.py` and the layers below it.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.columns import describe_report, table_schema
from gsc_assets.defs.metadata import audit_failure_metadata, date_metadata, run_metadata
from gsc_assets.defs.partitions import backfill_policy, daily_partitions, partition_dates
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.defs.scope import Scope
from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.settings import Settings
from gsc_assets.sync.daily import not_offered_search_types, supported_search_types, sync_report
from gsc_assets.warehouse.lifetime import refresh_lifetime
from gsc_assets.warehouse.quality import AuditFailedError
from gsc_assets.warehouse.schema import gsc_page_lifetime, table_for

SITE_TAG = "gsc/site"  # a run tagged with one configured site syncs only that site
API_POOL = "gsc_api"  # a Dagster concurrency pool: caps sync steps on every launch path
STATS_GROUP = "stats"
# Dagster's asset freshness (shown in the UI, alertable): the daily schedule materializes every
# report once a day, so a day without a materialization WARNs and two FAIL. It is asset-level (any
# partition counts); the `is_fresh` check judges the newest *final* date per site.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=26)
)


class SyncConfigurationError(dg.Failure):
    """Settings a sync needs are missing (raised at run start with every problem listed)."""


class AuditFailure(dg.Failure):
    """A date's rows disagreed with Search Console's totals and were not published."""


def build_report_asset(report: Report, scope: Scope) -> dg.AssetsDefinition:
    """A daily-partitioned asset that keeps `report.table` equal to what Search Console returns."""
    with warnings.catch_warnings():
        # `backfill_policy` is Beta in Dagster 1.13, warned once per asset at every load; it is
        # what makes a date range one run (README), so we accept the Beta and keep loads quiet.
        warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy")
        return _report_asset(report, scope)


def _report_asset(report: Report, scope: Scope) -> dg.AssetsDefinition:
    settings = scope.settings

    @dg.asset(
        key=scope.asset_key(report.table),
        partitions_def=daily_partitions(settings),
        backfill_policy=backfill_policy(settings),
        group_name=scope.group_name,
        pool=API_POOL,
        kinds=scope.kinds,
        owners=list(scope.owners),
        tags={**scope.tags, "gsc/report": report.name},
        required_resource_keys={scope.search_console_key, scope.warehouse_key},
        metadata=table_metadata(table_for(report)),
        description=describe_report(report),
        freshness_policy=DAILY_FRESHNESS,
    )
    def report_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        require_sync_settings(settings)
        search_console: SearchConsoleResource = getattr(context.resources, scope.search_console_key)
        warehouse: WarehouseResource = getattr(context.resources, scope.warehouse_key)
        search_types = supported_search_types(report, settings.search_types)
        not_offered = not_offered_search_types(report, settings.search_types)
        for search_type, reason in not_offered.items():
            context.log.info(
                f"{report.table}: not offered by Google for {search_type.value} ({reason}); "
                "recorded as not_offered in gsc_sync_log"
            )
        with search_console.open_fetcher(progress=context.log.info) as fetcher:
            try:
                outcome = sync_report(
                    fetcher,
                    warehouse.engine,
                    report,
                    partition_dates(context),
                    sites=sites_for_run(context.run.tags, settings.sites),
                    search_types=search_types,
                    data_state=settings.data_state,
                    run_id=context.run.run_id,
                    log=context.log.info,
                    not_offered=tuple(not_offered),
                    shared_totals=search_console.shared_totals,
                )
            except AuditFailedError as error:
                raise AuditFailure(
                    description=str(error), metadata=audit_failure_metadata(error)
                ) from error
        for date, numbers in outcome.by_date.items():
            context.add_asset_metadata(date_metadata(numbers), partition_key=date.isoformat())
        return dg.MaterializeResult(metadata=run_metadata(outcome, fetcher.stats))

    return report_asset


def table_metadata(table: sa.Table) -> dict[str, Any]:
    """Definition metadata of a table asset: its name and every column with its meaning."""
    return {
        "dagster/table_name": table.name,
        "dagster/column_schema": table_schema(table, lifetime=table.name == "gsc_page_lifetime"),
    }


def with_code_references(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets with a link to the code that computes each (the UI's "Code" link)."""
    with warnings.catch_warnings():
        # Code references are Beta in Dagster 1.13 and warn several times per asset at every
        # load; the link is worth having, the warning lines are noise in every CLI call.
        warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*CodeReference")
        warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*code_references")
        linked = dg.with_source_code_references(assets)
    return [asset for asset in linked if isinstance(asset, dg.AssetsDefinition)]


def require_sync_settings(settings: Settings) -> None:
    """Fail the step at its start, naming every missing setting, before any request is made."""
    missing = settings.missing_for_sync()
    if missing:
        raise SyncConfigurationError(description="; ".join(missing))


def sites_for_run(tags: Mapping[str, str], configured: tuple[str, ...]) -> tuple[str, ...]:
    """The configured sites, or only the one named by the run's `gsc/site` tag.

    Per-site runs let `dagster.yaml` cap concurrent runs per site with a tag limit.
    """
    site = tags.get(SITE_TAG)
    if site is None:
        return configured
    if site not in configured:
        raise SyncConfigurationError(
            description=f"run tag {SITE_TAG}={site!r} names a site not in GSC_SITES "
            f"({', '.join(configured)})"
        )
    return (site,)


def build_lifetime_asset(scope: Scope) -> dg.AssetsDefinition:
    """`gsc_page_lifetime`, built per instance so each gets its own resource bindings."""

    @dg.asset(
        key=scope.asset_key("gsc_page_lifetime"),
        group_name=scope.group_name if scope.key_prefix else STATS_GROUP,
        deps=[scope.asset_key(PAGE_REPORT.table)],
        kinds=scope.kinds,
        owners=list(scope.owners),
        tags=dict(scope.tags),
        required_resource_keys={scope.warehouse_key},
        metadata=table_metadata(gsc_page_lifetime),
        description="All-time clicks, impressions, CTR and impression-weighted position of every "
        "page, with its first and last date and the number of days it had impressions, per site "
        "and search type. Updated incrementally for the pages whose daily rows changed since the "
        "last update, and always equal to a full recomputation from gsc_page_daily.",
    )
    def gsc_page_lifetime_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse: WarehouseResource = getattr(context.resources, scope.warehouse_key)
        pages = refresh_lifetime(warehouse.engine)
        return dg.MaterializeResult(metadata={"pages_refreshed": pages})

    return gsc_page_lifetime_asset
