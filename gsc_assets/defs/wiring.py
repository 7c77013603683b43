"""One instance's definitions: assets, checks, job, schedules, sensors and its two resources.

Both entry points build through here: `gsc_assets.definitions` (the environment's instance, the
README's commands) and `SearchConsoleComponent` (one per `defs.yaml`). The executor is the code
location's, so it is not part of an instance.

Secret-bearing values (access token, warehouse and quota-store URLs) arrive as `dg.EnvVar` when
they come from the environment: Dagster resolves them at run start and shows only the variable's
name in the UI, never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.assets import build_lifetime_asset, build_report_asset, with_code_references
from gsc_assets.defs.checks import build_checks
from gsc_assets.defs.hourly import HOURLY_JOB_NAME, build_hourly_asset, build_hourly_schedule
from gsc_assets.defs.inventory import build_inventory_definitions
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.defs.runs import SYNC_JOB_NAME
from gsc_assets.defs.schedules import build_daily_schedule
from gsc_assets.defs.scope import Scope
from gsc_assets.defs.sensors import build_alert_sensors
from gsc_assets.defs.slot_wait import DEFAULT_POOL_WAIT_TIMEOUT_SECONDS
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.schema import table_for
from gsc_assets.warehouse.sync_log import non_final_dates

Secret = dg.EnvVar | str | None


@dataclass(frozen=True)
class Secrets:
    """The secret-bearing settings as resources take them: an EnvVar (hidden in the UI) or, for
    values handed over in Python (the demo, tests), the value itself."""

    access_token: Secret = None
    database_url: dg.EnvVar | str | None = None  # None: the settings' (non-secret) default
    quota_database_url: dg.EnvVar | str | None = None  # None: the warehouse's


def build_instance_definitions(
    scope: Scope,
    secrets: Secrets,
    *,
    pool_wait_timeout_seconds: float = DEFAULT_POOL_WAIT_TIMEOUT_SECONDS,
) -> dg.Definitions:
    """Everything one Search Console instance defines (no executor: that is the location's)."""
    settings = scope.settings
    database_url = secrets.database_url or settings.database_url
    search_console = SearchConsoleResource(
        api_base_url=settings.api_base_url,
        credentials_file=settings.credentials_file,
        access_token=secrets.access_token,
        token_uri=settings.token_uri,
        qpm_budget=settings.qpm_budget,
        quota_store=settings.quota_store,
        quota_database_url=secrets.quota_database_url or database_url,
        max_concurrency=settings.max_concurrency,
        request_timeout_seconds=settings.request_timeout_seconds,
        max_attempts=settings.max_attempts,
        load_quota_cooloff_seconds=settings.load_quota_cooloff_seconds,
        pool_wait_timeout_seconds=pool_wait_timeout_seconds,
    )
    for report in settings.reports:
        table_for(report)  # registered in the schema, so the warehouse resource creates it
    log_not_offered(scope)
    daily = [build_report_asset(r, scope) for r in settings.reports if not r.is_hourly]
    hourly = [build_hourly_asset(r, scope) for r in settings.reports if r.is_hourly]
    hourly_jobs = (
        [dg.define_asset_job(scope.name(HOURLY_JOB_NAME), selection=[a.key for a in hourly])]
        if hourly
        else []
    )
    lifetime = build_lifetime_asset(scope)
    checks = build_checks(scope)
    sync_job = dg.define_asset_job(
        scope.name(SYNC_JOB_NAME),
        selection=[*(asset.key for asset in daily), lifetime.key],
        description="Every report for the selected dates, then the lifetime stats.",
    )
    assets = with_code_references([*daily, lifetime, *hourly])
    instance = dg.Definitions(
        assets=assets,
        asset_checks=checks,
        sensors=build_alert_sensors(checks, scope, [a.key for a in assets]),
        jobs=[sync_job, *hourly_jobs],
        schedules=[
            build_daily_schedule(sync_job, scope, oldest_non_final(settings.database_url)),
            *(build_hourly_schedule(job, scope) for job in hourly_jobs),
        ],
        resources={
            scope.search_console_key: search_console,
            scope.warehouse_key: WarehouseResource(database_url=database_url),
        },
    )
    return dg.Definitions.merge(instance, build_inventory_definitions(scope))


def log_not_offered(scope: Scope) -> None:
    """One INFO line per configured report and search type Google offers no data for."""
    logger = dg.get_dagster_logger("gsc_assets")
    for report, search_type, reason in scope.settings.not_offered():
        logger.info(
            f"report {report.name} is skipped for search type {search_type.value}: not offered "
            f"by Google ({reason})"
        )


def oldest_non_final(database_url: str) -> Callable[[str | None], dt.date | None]:
    """Reads the sync log at tick time (not at load): a site's oldest partition still non-final."""

    def oldest(site: str | None) -> dt.date | None:
        engine = make_engine(database_url)
        try:
            dates = non_final_dates(engine, site_url=site)
        except sa.exc.SQLAlchemyError:
            return None  # no warehouse yet: nothing was ever synced, nothing is non-final
        finally:
            engine.dispose()
        return dates[0] if dates else None

    return oldest
