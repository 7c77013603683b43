"""The one schema of configuration: every field of `SearchConsoleComponent`, the environment
variable the default code location reads it from, its default and its meaning.

`SearchConsoleConfig` is plain pydantic (the component in `defs/component.py` adds Dagster's
resolution to it). The README's variable table is generated from it (`variables_table()`, kept
equal by a test), and a component's values are validated by the same rules as the environment's:
`to_environ()` turns them into the variables `Settings.from_env` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gsc_assets.config_location import LOCATION_VARIABLES
from gsc_assets.reports.catalogue import DEFAULT_REPORT_NAMES
from gsc_assets.reports.limits import INSPECTIONS_PER_SITE_PER_DAY
from gsc_assets.search_console.fetcher import DEFAULT_MAX_CONCURRENCY
from gsc_assets.search_console.rate_limiter import DEFAULT_BUDGET_QPM
from gsc_assets.settings_env import (
    DEFAULT_API_BASE_URL,
    DEFAULT_DATABASE_PATH,
    DEFAULT_INSPECTION_BUDGET,
)

ENV = "env"  # json_schema_extra key: the variable a field is read from in the default location
SECRET = "secret"  # json_schema_extra key: only from the environment ({{ env.VAR }}), never literal


def _field(default: Any, env: str | None, description: str, *, secret: bool = False) -> Any:
    extra: dict[str, Any] = {ENV: env} if env else {}
    if secret:
        extra[SECRET] = True
    return Field(default=default, description=description, json_schema_extra=extra or None)


class CustomReport(BaseModel):
    """A report of your own: its table is `gsc_<name>_daily`, checked against Google's rules."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="lower-case name; the table is gsc_<name>_daily")
    dimensions: list[str] = Field(
        description="grouping dimensions besides date: page, query, country, device, "
        "searchAppearance"
    )
    aggregation_type: Literal["byPage", "byProperty"] = Field(description="how Google aggregates")
    search_types: list[str] | None = Field(
        default=None, description="search types (default: every type Google allows)"
    )
    filters: list[dict[str, str]] | None = Field(
        default=None,
        description="AND-ed filters, each {dimension, operator, expression}",
    )
    description: str | None = Field(default=None, description="what the table holds")


class SearchConsoleConfig(BaseModel):
    """Google Search Console performance data kept in your SQL warehouse, per site, date, search
    type, page and query: complete, exact, checked against Google's own totals."""

    model_config = ConfigDict(extra="forbid")

    sites: list[str] = _field(
        [],
        "GSC_SITES",
        "Search Console properties exactly as registered (`https://www.example.com/` with its "
        "trailing slash, or `sc-domain:example.com`); required to sync",
    )
    search_types: list[str] = _field(
        ["web"],
        "GSC_SEARCH_TYPES",
        "search types: web, image, video, news, discover, googleNews (default `web`)",
    )
    reports: list[str] = _field(
        list(DEFAULT_REPORT_NAMES),
        "GSC_REPORTS",
        "built-in reports to sync (default `site,page,page_query`); also: country, device, "
        "search_appearance, page_country, page_device, and the opt-in fresh hour-by-hour "
        "site_hourly, page_hourly. Each report costs its own requests",
    )
    custom_reports: list[CustomReport] = _field(
        [],
        None,
        "custom reports inline, each its own asset and table `gsc_<name>_daily` (the "
        "environment names a YAML file of them instead: GSC_REPORTS_FILE)",
    )
    reports_file: str | None = _field(
        None,
        "GSC_REPORTS_FILE",
        "YAML file of custom reports, each its own asset and table `gsc_<name>_daily` (see "
        "examples/reports.yaml); validated at load",
    )
    start_date: str | None = _field(
        None,
        "GSC_START_DATE",
        "first partition, YYYY-MM-DD (default: the first day of the month 16 months ago, the "
        "oldest data Search Console keeps)",
    )
    data_state: Literal["all", "final"] = _field(
        "all",
        "GSC_DATA_STATE",
        "`all` (default: fresh data too, marked non-final and re-fetched until final) or "
        "`final` (only final data; partitions end 3 days ago)",
    )
    api_base_url: str = _field(
        DEFAULT_API_BASE_URL,
        "GSC_API_BASE_URL",
        f"API base URL (default `{DEFAULT_API_BASE_URL}`; the simulator's URL for local use)",
    )
    credentials_file: str | None = _field(
        None,
        "GOOGLE_APPLICATION_CREDENTIALS",
        "path to a service-account key or authorized-user JSON file",
    )
    access_token: str | None = _field(
        None,
        "GSC_ACCESS_TOKEN",
        "a plain OAuth access token instead of a credentials file (local use; the simulator "
        "accepts `sim-token`); secret",
        secret=True,
    )
    token_uri: str | None = _field(
        None, "GSC_TOKEN_URI", "token endpoint for authorized-user files (default Google's)"
    )
    database_url: str = _field(
        f"sqlite:///{DEFAULT_DATABASE_PATH}",
        "GSC_DATABASE_URL",
        f"warehouse SQLAlchemy URL (default `sqlite:///{DEFAULT_DATABASE_PATH}` in the working "
        "directory); production: `postgresql+psycopg2://user@host/db`; secret when it holds a "
        "password",
        secret=True,
    )
    qpm_budget: int = _field(
        DEFAULT_BUDGET_QPM,
        "GSC_QPM_BUDGET",
        f"queries per minute allowed per site and per credential (default {DEFAULT_BUDGET_QPM} "
        "= 80% of Google's 1,200; lower it for new projects, e.g. 60)",
    )
    quota_store: Literal["database", "memory"] = _field(
        "database",
        "GSC_QUOTA_STORE",
        "`database` (default: quota state in the warehouse database, shared by every run, "
        "machine and instance) or `memory` (one process only)",
    )
    quota_database_url: str | None = _field(
        None,
        "GSC_QUOTA_DATABASE_URL",
        "database holding the shared quota state (default: the warehouse's); secret when it "
        "holds a password",
        secret=True,
    )
    max_concurrency: int = _field(
        DEFAULT_MAX_CONCURRENCY,
        "GSC_MAX_CONCURRENCY",
        f"requests in flight per run (default {DEFAULT_MAX_CONCURRENCY}; 1 = sequential)",
    )
    request_timeout_seconds: float = _field(
        60.0, "GSC_REQUEST_TIMEOUT_SECONDS", "per-request timeout (default 60)"
    )
    max_attempts: int = _field(
        8, "GSC_MAX_ATTEMPTS", "attempts per request before the run fails (default 8)"
    )
    load_quota_cooloff_seconds: float = _field(
        900.0,
        "GSC_LOAD_QUOTA_COOLOFF_SECONDS",
        "pause of a site after a load-quota error (default 900)",
    )
    backfill_policy: str = _field(
        "single_run",
        "GSC_BACKFILL_POLICY",
        "`single_run` (default: a backfill or date range is one run) or `multi_run:N` (at most "
        "N partitions per run; `multi_run:1` = one run per date)",
    )
    freshness_max_age_days: int = _field(
        5,
        "GSC_FRESHNESS_MAX_AGE_DAYS",
        "the newest final partition may be at most this old (default 5)",
    )
    alert_webhook_url: str | None = _field(
        None,
        "GSC_ALERT_WEBHOOK_URL",
        "Slack-compatible webhook for alerts (default: log only); secret",
        secret=True,
    )
    webserver_url: str | None = _field(
        None, "DAGSTER_WEBSERVER_URL", "base URL of the Dagster UI, for links in alerts"
    )
    schedule: str = _field(
        "0 6 * * *",
        "GSC_SCHEDULE_CRON",
        "cron of the daily schedule, Pacific Time (default `0 6 * * *`: 06:00, when yesterday "
        "is in Search Console)",
    )
    schedule_running: bool = _field(
        True, None, "whether the schedules run by default (they tick while the daemon runs)"
    )
    key_prefix: str | None = _field(
        None,
        None,
        "asset key prefix, also prefixing job, schedule, sensor and resource names; required "
        "to tell two instances of one project apart",
    )
    group_name: str = _field("search_console", None, "asset group of the daily tables")
    owners: list[str] = _field(
        [], "GSC_OWNERS", "asset owners: e-mail addresses or `team:name` (comma-separated)"
    )
    tags: dict[str, str] = _field({}, None, "tags on every asset")
    url_inspection: bool = _field(
        False,
        "GSC_URL_INSPECTION",
        "`true` to inspect the pages that matter daily with Google's URL Inspection API "
        "(asset gsc_url_inspection; default `false`; see docs/inventory.md)",
    )
    inspection_daily_budget: int = _field(
        DEFAULT_INSPECTION_BUDGET,
        "GSC_INSPECTION_DAILY_BUDGET",
        f"URL inspections per property a day (default {DEFAULT_INSPECTION_BUDGET} = 80% of "
        f"Google's {INSPECTIONS_PER_SITE_PER_DAY:,}; at most {INSPECTIONS_PER_SITE_PER_DAY})",
    )


def field_variables() -> dict[str, str]:
    """Field name -> environment variable, for every field the environment sets."""
    return {
        name: str(info.json_schema_extra[ENV])
        for name, info in SearchConsoleConfig.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and ENV in info.json_schema_extra
    }


def secret_fields() -> set[str]:
    """Fields whose values may be secret: only ever from the environment."""
    return {
        name
        for name, info in SearchConsoleConfig.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(SECRET)
    }


def variables() -> dict[str, str]:
    """Every environment variable the default code location reads, with its meaning."""
    fields = SearchConsoleConfig.model_fields
    return {
        variable: fields[name].description or "" for name, variable in field_variables().items()
    } | LOCATION_VARIABLES


def variables_table() -> str:
    """The README's configuration table, generated from the model."""
    rows = ["| variable | component field | meaning and default |", "|---|---|---|"]
    fields = field_variables()
    for name, variable in fields.items():
        description = SearchConsoleConfig.model_fields[name].description
        rows.append(f"| `{variable}` | `{name}` | {description} |")
    rows += [f"| `{variable}` | — | {text} |" for variable, text in LOCATION_VARIABLES.items()]
    return "\n".join(rows)


def to_environ(
    config: SearchConsoleConfig, resolve: Callable[[str, Any], str | None]
) -> tuple[dict[str, str], str | None]:
    """The variables `Settings.from_env` reads for `config`, and its inline custom reports as
    YAML; `resolve(field, value)` gives a secret field's value (from its EnvVar)."""
    environ: dict[str, str] = {}
    secrets = secret_fields()
    for name, variable in field_variables().items():
        value = getattr(config, name)
        if name in secrets and value is not None:
            value = resolve(name, value)
        text = _as_text(value)
        if text is not None:
            environ[variable] = text
    custom = (
        yaml.safe_dump(
            {"reports": [r.model_dump(exclude_none=True) for r in config.custom_reports]}
        )
        if config.custom_reports
        else None
    )
    return environ, custom


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or None
    if isinstance(value, Mapping):
        return None
    return str(value)
