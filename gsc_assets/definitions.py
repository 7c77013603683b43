"""The one place that reads Settings and wires the layers into Dagster `Definitions`.

Secrets enter as `dg.EnvVar`, resolved at run start and never displayed in the UI.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.assets import build_lifetime_asset, build_report_asset
from gsc_assets.defs.checks import build_checks
from gsc_assets.defs.executors import build_executor
from gsc_assets.defs.hourly import HOURLY_JOB_NAME, build_hourly_asset, build_hourly_schedule
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.defs.run_guard import run_hygiene_sensor
from gsc_assets.defs.schedules import build_daily_schedule
from gsc_assets.defs.sensors import build_alert_sensors
from gsc_assets.defs.slot_wait import pool_wait_timeout_from_env
from gsc_assets.settings import Settings
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.schema import table_for
from gsc_assets.warehouse.sync_log import non_final_dates


def _secret(name: str, environ: Mapping[str, str]) -> dg.EnvVar | str | None:
    """An EnvVar for the process environment (resolved at run start, hidden in the UI); the value
    itself for an explicit mapping (the demo and tests), which Dagster could not resolve."""
    if not environ.get(name, "").strip():
        return None
    return dg.EnvVar(name) if environ is os.environ else environ[name]


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Definitions for the given environment (the process environment by default)."""
    env = os.environ if environ is None else environ
    settings = Settings.from_env(env)
    search_console = SearchConsoleResource(
        api_base_url=settings.api_base_url,
        credentials_file=settings.credentials_file,
        access_token=_secret("GSC_ACCESS_TOKEN", env),
        token_uri=settings.token_uri,
        qpm_budget=settings.qpm_budget,
        quota_store=settings.quota_store,
        quota_database_url=settings.quota_database_url or settings.database_url,
        max_concurrency=settings.max_concurrency,
        request_timeout_seconds=settings.request_timeout_seconds,
        max_attempts=settings.max_attempts,
        load_quota_cooloff_seconds=settings.load_quota_cooloff_seconds,
        pool_wait_timeout_seconds=pool_wait_timeout_from_env(env),
    )
    for report in settings.reports:
        table_for(report)  # registered in the schema, so the warehouse resource creates it
    _log_not_offered(settings)
    daily = [r for r in settings.reports if not r.is_hourly]
    report_assets = [build_report_asset(report, settings) for report in daily]
    hourly_assets = [build_hourly_asset(r, settings) for r in settings.reports if r.is_hourly]
    hourly_jobs = (
        [dg.define_asset_job(HOURLY_JOB_NAME, selection=[a.key for a in hourly_assets])]
        if hourly_assets
        else []
    )
    gsc_page_lifetime = build_lifetime_asset()
    checks = build_checks(settings)
    sync_job = dg.define_asset_job(
        "gsc_sync_job",
        selection=[*(asset.key for asset in report_assets), gsc_page_lifetime.key],
        description="Every report for the selected dates, then the lifetime stats.",
    )
    return dg.Definitions(
        assets=[*report_assets, gsc_page_lifetime, *hourly_assets],
        asset_checks=checks,
        sensors=[*build_alert_sensors(checks, settings), run_hygiene_sensor],
        jobs=[sync_job, *hourly_jobs],
        schedules=[
            build_daily_schedule(sync_job, settings, _oldest_non_final(settings)),
            *(build_hourly_schedule(job) for job in hourly_jobs),
        ],
        executor=build_executor(settings),
        resources={
            "search_console": search_console,
            "warehouse": WarehouseResource(database_url=settings.database_url),
        },
    )


def _log_not_offered(settings: Settings) -> None:
    """One INFO line per configured report and search type Google offers no data for."""
    logger = dg.get_dagster_logger("gsc_assets")
    for report, search_type, reason in settings.not_offered():
        logger.info(
            f"report {report.name} is skipped for search type {search_type.value}: not offered "
            f"by Google ({reason})"
        )


def _oldest_non_final(settings: Settings) -> Callable[[str | None], dt.date | None]:
    """Reads the sync log at tick time (not at load): a site's oldest partition still non-final."""

    def oldest(site: str | None) -> dt.date | None:
        engine = make_engine(settings.database_url)
        try:
            dates = non_final_dates(engine, site_url=site)
        except sa.exc.SQLAlchemyError:
            return None  # no warehouse yet: nothing was ever synced, nothing is non-final
        finally:
            engine.dispose()
        return dates[0] if dates else None

    return oldest


defs = build_definitions()
