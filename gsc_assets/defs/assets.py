"""Assets: one daily-partitioned asset per report, plus the lifetime stats derived from pages.

Each asset body is the same few steps: partition dates -> fetch (streaming, quota-shared) -> write
each date atomically -> metadata. The work itself lives in `sync.py` and the layers below it.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

from collections.abc import Mapping

import dagster as dg

from gsc_assets.defs.metadata import audit_failure_metadata, sync_metadata
from gsc_assets.defs.partitions import backfill_policy, daily_partitions, partition_dates
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.settings import Settings
from gsc_assets.sync.daily import not_offered_search_types, supported_search_types, sync_report
from gsc_assets.warehouse.lifetime import refresh_lifetime
from gsc_assets.warehouse.quality import AuditFailedError

SYNC_GROUP = "search_console"
SITE_TAG = "gsc/site"  # a run tagged with one configured site syncs only that site
API_POOL = "gsc_api"  # a Dagster concurrency pool: caps sync steps on every launch path


class SyncConfigurationError(dg.Failure):
    """Settings a sync needs are missing (raised at run start with every problem listed)."""


class AuditFailure(dg.Failure):
    """A date's rows disagreed with Search Console's totals and were not published."""


def build_report_asset(report: Report, settings: Settings) -> dg.AssetsDefinition:
    """A daily-partitioned asset that keeps `report.table` equal to what Search Console returns."""

    @dg.asset(
        name=report.table,
        partitions_def=daily_partitions(settings),
        backfill_policy=backfill_policy(settings),
        group_name=SYNC_GROUP,
        pool=API_POOL,
        kinds={"sql"},
        tags={"gsc/report": report.name},
        description=f"Search Console {report.description}: dimensions "
        f"{[d.value for d in report.request_dimensions]}, "
        f"aggregation {report.aggregation_type.value}. "
        "Each partition (a Pacific-Time date) is replaced atomically for every site and search "
        "type; reports with a documented reconciliation are audited against Google's totals of "
        "their aggregation type before they are published.",
    )
    def report_asset(
        context: dg.AssetExecutionContext,
        search_console: SearchConsoleResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        require_sync_settings(settings)
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
                )
            except AuditFailedError as error:
                raise AuditFailure(
                    description=str(error), metadata=audit_failure_metadata(error)
                ) from error
        return dg.MaterializeResult(metadata=sync_metadata(outcome, fetcher.stats))

    return report_asset


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


def build_lifetime_asset() -> dg.AssetsDefinition:
    """`gsc_page_lifetime`, built per Definitions so each gets its own resource bindings."""

    @dg.asset(
        name="gsc_page_lifetime",
        group_name="stats",
        deps=[PAGE_REPORT.table],
        kinds={"sql"},
        description="Lifetime clicks, impressions, CTR, impression-weighted position, first/last "
        "date and days with impressions per (site, search type, page). Updated incrementally for "
        "the pages whose daily rows changed since the last update; always equal to a full "
        "recomputation.",
    )
    def gsc_page_lifetime(warehouse: WarehouseResource) -> dg.MaterializeResult:
        pages = refresh_lifetime(warehouse.engine)
        return dg.MaterializeResult(metadata={"pages_refreshed": pages})

    return gsc_page_lifetime
