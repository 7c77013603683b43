"""Configuration from environment variables, validated once at load.

Every variable, its default and its meaning are listed in `VARIABLES` (the README's configuration
table is generated from the same words). `Settings.from_env()` collects *all* problems into one
`SettingsError`, each naming the variable and the fix. Secrets (access tokens) are never part of
`repr()`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gsc_assets.config import variables
from gsc_assets.reports.catalogue import (
    CORE_REPORTS,
)
from gsc_assets.reports.limits import (
    QUOTA_QPM_PER_SITE,
    default_start_date,
    oldest_retained_date,
    today_pacific,
)
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.search_console.fetcher import DEFAULT_MAX_CONCURRENCY
from gsc_assets.search_console.rate_limiter import DEFAULT_BUDGET_QPM
from gsc_assets.settings_env import (
    DEFAULT_API_BASE_URL,
    DEFAULT_DATABASE_PATH,
    DEFAULT_INSPECTION_BUDGET,
    EnvParser,
    site_url_problem,
)

__all__ = [
    "VARIABLES",
    "Settings",
    "SettingsError",
    "default_start_date",
    "oldest_retained_date",
    "site_url_problem",
]

MIN_QPM_BUDGET = 1
MAX_QPM_BUDGET = QUOTA_QPM_PER_SITE  # Google's quota: a budget above it guarantees 429s

# Every variable with its meaning, from the one schema (`config.SearchConsoleConfig`).
VARIABLES: dict[str, str] = variables()


class SettingsError(ValueError):
    """One or more environment variables are invalid; the message lists every problem."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build with `Settings.from_env()`."""

    sites: tuple[str, ...] = ()
    search_types: tuple[SearchType, ...] = (SearchType.WEB,)
    start_date: dt.date = field(default_factory=lambda: default_start_date(today_pacific()))
    data_state: DataState = DataState.ALL
    api_base_url: str = DEFAULT_API_BASE_URL
    credentials_file: str | None = None
    access_token: str | None = field(default=None, repr=False)
    token_uri: str | None = None
    database_url: str = f"sqlite:///{DEFAULT_DATABASE_PATH}"
    qpm_budget: int = DEFAULT_BUDGET_QPM
    quota_store: str = "database"
    quota_database_url: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    request_timeout_seconds: float = 60.0
    max_attempts: int = 8
    load_quota_cooloff_seconds: float = 900.0
    backfill_max_partitions_per_run: int | None = None  # None = single run
    executor: str = "in_process"
    celery_broker_url: str | None = field(default=None, repr=False)  # may embed a password
    celery_backend_url: str = "rpc://"
    celery_queue: str = "dagster"
    freshness_max_age_days: int = 5
    alert_webhook_url: str | None = field(default=None, repr=False)
    webserver_url: str | None = None
    reports: tuple[Report, ...] = CORE_REPORTS
    owners: tuple[str, ...] = ()
    schedule_cron: str = "0 6 * * *"
    url_inspection: bool = False
    inspection_daily_budget: int = DEFAULT_INSPECTION_BUDGET

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        custom_reports: str | None = None,
        name: Callable[[str], str] = lambda variable: variable,
    ) -> Settings:
        """Read and validate every GSC_* variable; raise SettingsError listing all problems.

        `custom_reports` is YAML of inline custom reports (a component's); `name` says how a
        variable is called in messages (a component names its field).
        """
        env = os.environ if environ is None else environ
        parser = EnvParser(env, custom_reports=custom_reports)
        values: dict[str, Any] = {
            "sites": parser.sites("GSC_SITES"),
            "search_types": parser.search_types("GSC_SEARCH_TYPES"),
            "start_date": parser.start_date("GSC_START_DATE"),
            "data_state": parser.data_state("GSC_DATA_STATE"),
            "api_base_url": parser.url("GSC_API_BASE_URL", DEFAULT_API_BASE_URL),
            "credentials_file": parser.credentials_file("GOOGLE_APPLICATION_CREDENTIALS"),
            "access_token": parser.text("GSC_ACCESS_TOKEN"),
            "token_uri": parser.optional_url("GSC_TOKEN_URI"),
            "database_url": parser.database_url("GSC_DATABASE_URL"),
            "qpm_budget": parser.integer(
                "GSC_QPM_BUDGET", DEFAULT_BUDGET_QPM, MIN_QPM_BUDGET, MAX_QPM_BUDGET
            ),
            "quota_store": parser.choice("GSC_QUOTA_STORE", "database", ("database", "memory")),
            "quota_database_url": parser.optional_database_url("GSC_QUOTA_DATABASE_URL"),
            "max_concurrency": parser.integer(
                "GSC_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, 1, 64
            ),
            "request_timeout_seconds": parser.number(
                "GSC_REQUEST_TIMEOUT_SECONDS", 60.0, 1.0, 600.0
            ),
            "max_attempts": parser.integer("GSC_MAX_ATTEMPTS", 8, 1, 50),
            "load_quota_cooloff_seconds": parser.number(
                "GSC_LOAD_QUOTA_COOLOFF_SECONDS", 900.0, 0.0, 86_400.0
            ),
            "backfill_max_partitions_per_run": parser.backfill_policy("GSC_BACKFILL_POLICY"),
            "executor": parser.choice(
                "GSC_EXECUTOR", "in_process", ("in_process", "multiprocess", "celery")
            ),
            "celery_broker_url": parser.text("GSC_CELERY_BROKER_URL"),
            "celery_backend_url": parser.text("GSC_CELERY_BACKEND_URL") or "rpc://",
            "celery_queue": parser.text("GSC_CELERY_QUEUE") or "dagster",
            "freshness_max_age_days": parser.integer("GSC_FRESHNESS_MAX_AGE_DAYS", 5, 1, 365),
            "alert_webhook_url": parser.optional_url("GSC_ALERT_WEBHOOK_URL"),
            "webserver_url": parser.optional_url("DAGSTER_WEBSERVER_URL"),
            "reports": parser.reports("GSC_REPORTS", "GSC_REPORTS_FILE"),
            "url_inspection": parser.flag("GSC_URL_INSPECTION", False),
            "inspection_daily_budget": parser.inspection_budget("GSC_INSPECTION_DAILY_BUDGET"),
            "owners": parser.owners("GSC_OWNERS"),
            "schedule_cron": parser.cron("GSC_SCHEDULE_CRON", "0 6 * * *"),
        }
        if values["executor"] == "celery" and not values["celery_broker_url"]:
            parser.problems.append(
                "GSC_CELERY_BROKER_URL: required when GSC_EXECUTOR=celery; set it to the broker "
                "your workers listen on, e.g. pyamqp://guest@rabbitmq:5672//"
            )
        if parser.problems:
            raise SettingsError(
                "invalid configuration:\n"
                + "\n".join(f"- {_named(p, name)}" for p in parser.problems)
            )
        return cls(**values)

    @property
    def last_partition_offset_days(self) -> int:
        """How many days before today (Pacific) the newest partition is."""
        return 3 if self.data_state is DataState.FINAL else 1

    def not_offered(self) -> list[tuple[Report, SearchType, str]]:
        """Each configured (report, search type) Google offers no data for, with the reason.

        Built-in reports skip such types (e.g. the byProperty site report for googleNews);
        custom reports that declare one are refused at load instead.
        """
        return [
            (report, search_type, "; ".join(problems))
            for report in self.reports
            for search_type in self.search_types
            if search_type in report.search_types
            and (problems := report.refused_by_google(search_type))
        ]

    def missing_for_sync(self) -> list[str]:
        """What a sync run still needs that may legitimately be absent at definition load."""
        missing = []
        if not self.sites:
            missing.append(
                "GSC_SITES is empty: set it to your properties, e.g. "
                "GSC_SITES=https://www.example.com/,sc-domain:example.com"
            )
        if not self.credentials_file and not self.access_token:
            missing.append(
                "no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file "
                "(add the service account as a user on each property) or GSC_ACCESS_TOKEN"
            )
        return missing


def _named(problem: str, name: Callable[[str], str]) -> str:
    """`problem` ("VARIABLE: what and the fix") with the variable called as `name` says."""
    variable, sep, rest = problem.partition(": ")
    return f"{name(variable)}: {rest}" if sep and " " not in variable else problem
