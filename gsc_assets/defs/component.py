"""`SearchConsoleComponent`: Search Console data in your warehouse, configured in a defs.yaml.

The fields are `config.SearchConsoleConfig` (the one schema, also the environment's); this
class adds Dagster's resolution. Secret-bearing fields take `{{ env.VAR }}` only: they become
`dg.EnvVar`s, resolved at run start and shown in the UI by name, never by value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

import dagster as dg
from dagster.components.resolved.errors import ResolutionException
from pydantic import ConfigDict

from gsc_assets.config import SearchConsoleConfig, field_variables, to_environ
from gsc_assets.defs.run_guard import build_run_hygiene_sensor
from gsc_assets.defs.scope import PREFIX_PATTERN, Scope
from gsc_assets.defs.wiring import Secrets, build_instance_definitions
from gsc_assets.search_console.rate_limiter import DEFAULT_BUDGET_QPM
from gsc_assets.settings import Settings, SettingsError

ENV_TEMPLATE = re.compile(r"^\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def _secret(field: str, *, literal_ok: Callable[[str], bool]) -> Any:
    """A resolver keeping a secret as `dg.EnvVar`: `{{ env.VAR }}` is read by name, not value."""

    def resolve(context: dg.ResolutionContext, raw: Any) -> dg.EnvVar | str | None:
        if raw is None:
            return None
        match = ENV_TEMPLATE.match(str(raw).strip())
        if match:
            return dg.EnvVar(match.group(1))
        if literal_ok(str(raw)):
            return str(raw)
        raise ResolutionException(
            f"{field}: a secret must come from the environment; write "
            f'"{{{{ env.{field_variables()[field]} }}}}" (or another variable), not the value'
        )

    return dg.Resolver(resolve, model_field_type=str, inject_before_resolve=False)


def _url_without_password(url: str) -> bool:
    return urlsplit(url).password is None


def _never(_value: str) -> bool:
    return False


class SearchConsoleScaffolder(dg.Scaffolder):
    """`dg scaffold defs gsc_assets.SearchConsoleComponent <name>`: a defs.yaml that works once
    the site and the credentials are filled in (placeholders name both)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        """Write `<name>/defs.yaml` with the fields a first sync needs."""
        prefix = re.sub(r"[^A-Za-z0-9_]", "_", request.target_path.name)
        dg.scaffold_component(request, scaffold_attributes(prefix))


def scaffold_attributes(key_prefix: str) -> dict[str, Any]:
    """The attributes of a new instance: site, credentials from the environment, warehouse."""
    return {
        "sites": ["https://www.example.com/"],
        "credentials_file": "{{ env.GOOGLE_APPLICATION_CREDENTIALS }}",
        "key_prefix": key_prefix,
        "search_types": ["web"],
        "reports": ["site", "page", "page_query"],
        "data_state": "all",
        "qpm_budget": DEFAULT_BUDGET_QPM,
    }


@dg.scaffold_with(SearchConsoleScaffolder)
class SearchConsoleComponent(dg.Component, dg.Resolvable, SearchConsoleConfig):
    """Google Search Console performance data in your SQL warehouse (SQLite or PostgreSQL).

    One daily-partitioned asset per report (site, page, page x query by default; country,
    device, search appearance, hourly and custom reports on request), each date replaced
    atomically and audited against Google's own totals; asset checks, lifetime page stats, a
    daily schedule re-syncing the late-data window, and alert sensors. Every request of every
    run and instance passes one quota limiter per site and per credential (state in the
    database). Give each instance of a project its own `key_prefix`. Secrets (`access_token`,
    `database_url` with a password, `quota_database_url`, `alert_webhook_url`) only as
    `{{ env.VAR }}`.
    """

    # An EnvVar stays one (pydantic would turn it into a plain str, losing the variable).
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    access_token: Annotated[dg.EnvVar | str | None, _secret("access_token", literal_ok=_never)] = (
        None
    )
    database_url: Annotated[
        dg.EnvVar | str, _secret("database_url", literal_ok=_url_without_password)
    ] = SearchConsoleConfig.model_fields["database_url"].default
    quota_database_url: Annotated[
        dg.EnvVar | str | None, _secret("quota_database_url", literal_ok=_url_without_password)
    ] = None
    alert_webhook_url: Annotated[
        dg.EnvVar | str | None, _secret("alert_webhook_url", literal_ok=_never)
    ] = None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """This instance's assets, checks, jobs, schedules, sensors and resources."""
        scope = self.scope()
        return dg.Definitions.merge(
            build_instance_definitions(scope, self.secrets()),
            dg.Definitions(sensors=[build_run_hygiene_sensor(scope.name("run_hygiene_sensor"))]),
        )

    def settings(self) -> Settings:
        """The validated settings; SettingsError names every bad field at once."""
        environ, custom = to_environ(self, _value_of)
        variables = {variable: field for field, variable in field_variables().items()}
        problems: list[str] = []
        if self.key_prefix is not None and not PREFIX_PATTERN.fullmatch(self.key_prefix):
            problems.append(f"key_prefix: {self.key_prefix!r} must be letters, digits and _")
        for field in ("access_token", "database_url", "quota_database_url", "alert_webhook_url"):
            value = getattr(self, field)
            if (
                isinstance(value, dg.EnvVar)
                and value.get_value() is None
                and field != "access_token"
            ):
                problems.append(
                    f"{field}: the environment variable {value.env_var_name} is not set"
                )
        try:
            settings = Settings.from_env(
                environ,
                custom_reports=custom,
                name=lambda variable: variables.get(variable, variable),
            )
        except SettingsError as error:
            problems += [line[2:] for line in str(error).splitlines()[1:]]
            settings = None
        if problems or settings is None:
            raise SettingsError("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))
        return settings

    def scope(self) -> Scope:
        """Settings plus this instance's names, group, owners, tags and schedule."""
        settings = self.settings()
        return Scope(
            settings,
            key_prefix=self.key_prefix,
            group_name=self.group_name,
            owners=settings.owners,
            tags=dict(self.tags),
            schedule_cron=settings.schedule_cron,
            schedule_running=self.schedule_running,
        )

    def secrets(self) -> Secrets:
        """The secret-bearing values as resources take them (EnvVars stay EnvVars)."""
        return Secrets(
            access_token=self.access_token,
            database_url=self.database_url,
            quota_database_url=self.quota_database_url,
        )


def _value_of(_field: str, value: Any) -> str | None:
    """A secret's value for validation: an EnvVar's from the environment, else itself."""
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    return str(value)
