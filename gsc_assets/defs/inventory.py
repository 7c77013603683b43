"""Inventory assets (`gsc_sites`, `gsc_sitemaps`), opt-in URL Inspection, their checks, a schedule.

The work is `gsc_assets.sync.inventory`; this module only wires it. The inventory is a daily
snapshot (history accumulates by snapshot date); URL Inspection spends at most the configured
daily budget per property through the shared quota store.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from collections.abc import Callable, Iterator

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.assets import (
    API_POOL,
    require_sync_settings,
    sites_for_run,
    with_code_references,
)
from gsc_assets.defs.checks import to_result
from gsc_assets.defs.metadata import as_metadata
from gsc_assets.defs.partitions import PACIFIC_TIMEZONE
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.defs.scope import Scope
from gsc_assets.reports.limits import today_pacific
from gsc_assets.search_console.inspection import InspectionQuota
from gsc_assets.sync.inventory import plan_inspections, sync_inspections, sync_inventory
from gsc_assets.warehouse.quality import CheckOutcome
from gsc_assets.warehouse.quality.inventory import (
    configured_properties_visible,
    indexing_unchanged,
    sitemaps_have_no_errors,
)

INVENTORY_GROUP = "search_console_inventory"
INVENTORY_JOB_NAME = "gsc_inventory_job"
SITES, SITEMAPS, INSPECTION = "gsc_sites", "gsc_sitemaps", "gsc_url_inspection"


def _resources(
    context: dg.AssetExecutionContext, scope: Scope
) -> tuple[SearchConsoleResource, WarehouseResource]:
    return (
        getattr(context.resources, scope.search_console_key),
        getattr(context.resources, scope.warehouse_key),
    )


def _group(scope: Scope) -> str:
    return scope.name(INVENTORY_GROUP) if scope.key_prefix else INVENTORY_GROUP


def build_inventory_assets(scope: Scope) -> list[dg.AssetsDefinition]:
    """`gsc_sites` and `gsc_sitemaps`, fetched together (one list of sites serves both)."""
    settings = scope.settings

    def spec(name: str, description: str) -> dg.AssetSpec:
        return dg.AssetSpec(
            scope.asset_key(name),
            group_name=_group(scope),
            kinds=scope.kinds,
            owners=list(scope.owners),
            tags=dict(scope.tags),
            description=description,
        )

    @dg.multi_asset(
        name=scope.name("gsc_inventory"),
        specs=[
            spec(
                SITES,
                "Every Search Console property the credential can see, with its "
                "permission level, and every configured one, flagged when not visible; one "
                "snapshot per day.",
            ),
            spec(
                SITEMAPS,
                "The sitemaps of each configured property (errors, warnings, pending, "
                "submitted and indexed URLs per content type); one snapshot per day.",
            ),
        ],
        pool=API_POOL,
        required_resource_keys={scope.search_console_key, scope.warehouse_key},
    )
    def inventory(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        search_console, warehouse = _resources(context, scope)
        require_sync_settings(settings)
        sites = sites_for_run(context.run.tags, settings.sites)
        outcome = sync_inventory(search_console.client, warehouse.engine, sites, today_pacific())
        if outcome.configured_not_visible:
            context.log.warning(
                f"configured but not visible to the credential: {outcome.configured_not_visible}"
            )
        yield dg.MaterializeResult(
            asset_key=scope.asset_key(SITES),
            metadata=as_metadata(
                {
                    "visible": len(outcome.visible),
                    "configured_not_visible": outcome.configured_not_visible,
                    "visible_not_configured": outcome.visible_not_configured,
                }
            ),
        )
        yield dg.MaterializeResult(
            asset_key=scope.asset_key(SITEMAPS),
            metadata={
                "sitemaps": outcome.sitemaps,
                "sitemaps_with_errors": outcome.sitemaps_with_errors,
            },
        )

    return [inventory]


def build_inspection_asset(scope: Scope) -> dg.AssetsDefinition:
    """`gsc_url_inspection`: the pages that matter, inspected within the daily budget per site."""
    settings = scope.settings
    daily_budget = settings.inspection_daily_budget

    @dg.asset(
        key=scope.asset_key(INSPECTION),
        group_name=_group(scope),
        deps=[scope.asset_key("gsc_page_daily")],
        pool=API_POOL,
        kinds=scope.kinds,
        owners=list(scope.owners),
        tags=dict(scope.tags),
        required_resource_keys={scope.search_console_key, scope.warehouse_key},
        description="Google's index status of the pages that matter, one row per page and "
        f"day: up to {daily_budget} URL inspections per property a day (of Google's 2,000): "
        "the most clicked pages every day, then a rotation through the others, least recently "
        "inspected first. The budget is shared by every run through the quota store.",
    )
    def gsc_url_inspection(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        search_console, warehouse = _resources(context, scope)
        require_sync_settings(settings)
        quota = InspectionQuota(search_console.shared_quota_store, daily_budget=daily_budget)
        day = today_pacific()
        totals = {"planned": 0, "inspected": 0, "throttled": 0}
        spent = []
        for site in sites_for_run(context.run.tags, settings.sites):
            pages = plan_inspections(warehouse.engine, site, day, daily_budget)
            outcome = sync_inspections(
                search_console.client,
                quota,
                warehouse.engine,
                site,
                pages,
                day,
                log=context.log.info,
            )
            totals["planned"] += outcome.planned
            totals["inspected"] += outcome.inspected
            totals["throttled"] += outcome.throttled
            if outcome.budget_spent:
                spent.append(site)
        return dg.MaterializeResult(
            metadata=as_metadata({**totals, "budget_per_site": daily_budget, "budget_spent": spent})
        )

    return gsc_url_inspection


def _check(
    scope: Scope,
    asset: str,
    name: str,
    description: str,
    evaluate: Callable[[sa.Connection], CheckOutcome],
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=scope.asset_key(asset),
        name=name,
        description=description,
        required_resource_keys={scope.warehouse_key},
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse: WarehouseResource = getattr(context.resources, scope.warehouse_key)
        with warehouse.engine.connect() as conn:
            return to_result(evaluate(conn))

    return check


def build_inventory_checks(scope: Scope) -> list[dg.AssetChecksDefinition]:
    """Visibility and sitemap errors (ERROR); with inspection, lost indexing (WARN)."""
    checks = [
        _check(
            scope,
            SITES,
            "configured_properties_visible",
            "ERROR when a configured property is not visible to the credential (the usual "
            "cause of a sudden 403): add the credential as a user, or fix GSC_SITES.",
            configured_properties_visible,
        ),
        _check(
            scope,
            SITEMAPS,
            "sitemaps_have_no_errors",
            "ERROR when a sitemap of the latest snapshot reports errors.",
            sitemaps_have_no_errors,
        ),
    ]
    if scope.settings.url_inspection:
        checks.append(
            _check(
                scope,
                INSPECTION,
                "indexing_unchanged",
                "WARN for pages whose verdict turned from PASS to anything else, or whose "
                "Google canonical differs from the canonical they declare.",
                indexing_unchanged,
            )
        )
    return checks


def build_inventory_definitions(scope: Scope) -> dg.Definitions:
    """The inventory assets (and URL Inspection when enabled), their checks, a daily schedule
    at 07:00 Pacific (after the daily sync, whose page rows rank the pages to inspect)."""
    assets = build_inventory_assets(scope)
    if scope.settings.url_inspection:
        assets.append(build_inspection_asset(scope))
    keys = [key for asset in assets for key in asset.keys]
    job = dg.define_asset_job(scope.name(INVENTORY_JOB_NAME), selection=keys)
    status = dg.DefaultScheduleStatus.RUNNING if scope.schedule_running else None
    return dg.Definitions(
        assets=with_code_references(assets),
        asset_checks=build_inventory_checks(scope),
        jobs=[job],
        schedules=[
            dg.ScheduleDefinition(
                name=scope.name("gsc_inventory_schedule"),
                job=job,
                cron_schedule="0 7 * * *",
                execution_timezone=PACIFIC_TIMEZONE,
                default_status=status or dg.DefaultScheduleStatus.STOPPED,
            )
        ],
    )
