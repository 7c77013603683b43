"""The code location: the environment's Search Console instance, plus every component instance
under `gsc_assets/instances/` (`dg scaffold defs gsc_assets.SearchConsoleComponent <name>`).

The GSC_* variables map onto the fields of `SearchConsoleComponent` (gsc_assets/config.py holds
the one table of fields, variables, defaults and meanings). Secrets from the process environment
enter as `dg.EnvVar`, resolved at run start and never displayed in the UI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from gsc_assets.defs.executors import build_executor
from gsc_assets.defs.run_guard import run_hygiene_sensor
from gsc_assets.defs.scope import Scope
from gsc_assets.defs.slot_wait import pool_wait_timeout_from_env
from gsc_assets.defs.wiring import Secrets, build_instance_definitions
from gsc_assets.settings import Settings, SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


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
    scope = Scope(settings, owners=settings.owners, schedule_cron=settings.schedule_cron)
    secrets = Secrets(
        access_token=_secret("GSC_ACCESS_TOKEN", env),
        database_url=_secret("GSC_DATABASE_URL", env),
        quota_database_url=_secret("GSC_QUOTA_DATABASE_URL", env),
    )
    instance = build_instance_definitions(
        scope, secrets, pool_wait_timeout_seconds=pool_wait_timeout_from_env(env)
    )
    return dg.Definitions.merge(
        instance,
        dg.Definitions(sensors=[run_hygiene_sensor], executor=build_executor(settings, env)),
    )


def _component_instances() -> dg.Definitions:
    """Every defs.yaml under gsc_assets/instances/ of this checkout (none in an installed
    package, whose project is the user's own)."""
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        return dg.Definitions()
    folder = PROJECT_ROOT / "gsc_assets" / "instances"
    if not any(folder.rglob("defs.yaml")):
        return dg.Definitions()
    return dg.load_from_defs_folder(project_root=PROJECT_ROOT)


def _load() -> dg.Definitions:
    """The code location; a configuration mistake stops it with the message block alone (every
    problem, each naming the variable and the fix), not a traceback that buries it."""
    try:
        return dg.Definitions.merge(build_definitions(), _component_instances())
    except SettingsError as error:
        sys.stderr.write(f"{error}\n")
        raise SystemExit(2) from None


defs = _load()
