"""Reading GSC_* environment variables: each reader checks one value and collects problems.

`EnvParser` never raises: every problem (naming the variable and the fix) is collected, so
`Settings.from_env` reports all of them at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from gsc_assets.reports.catalogue import BUILTIN_REPORTS, DEFAULT_REPORT_NAMES, select_builtin
from gsc_assets.reports.custom import load_custom_reports, parse_custom_reports
from gsc_assets.reports.limits import (
    INSPECTIONS_PER_SITE_PER_DAY,
    RETENTION_MONTHS,
    default_start_date,
    oldest_retained_date,
    today_pacific,
)
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import DataState, SearchType

DEFAULT_DATABASE_PATH = "gsc_warehouse.sqlite"
# URL inspections per property a day: 80% of Google's 2,000, room for people using the UI tool.
DEFAULT_INSPECTION_BUDGET = 1_600
DEFAULT_API_BASE_URL = "https://searchconsole.googleapis.com"
CRON_FIELDS = 5


class EnvParser:
    """Reads variables, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str], *, custom_reports: str | None = None) -> None:
        self.env = env
        self.custom_reports = custom_reports  # YAML of inline custom reports (a component's)
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def text(self, name: str) -> str | None:
        return self.raw(name)

    def sites(self, name: str) -> tuple[str, ...]:
        raw = self.raw(name)
        if raw is None:
            return ()
        sites = tuple(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
        for site in sites:
            problem = site_url_problem(site)
            if problem:
                self.problems.append(f"{name}: {problem}")
        return sites

    def search_types(self, name: str) -> tuple[SearchType, ...]:
        raw = self.raw(name)
        if raw is None:
            return (SearchType.WEB,)
        types = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            try:
                types.append(SearchType.parse(part))
            except ValueError as exc:
                self.problems.append(f"{name}: {exc}")
        return tuple(dict.fromkeys(types)) or (SearchType.WEB,)

    def start_date(self, name: str) -> dt.date:
        today = today_pacific()
        raw = self.raw(name)
        if raw is None:
            return default_start_date(today)
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            self.problems.append(f"{name}: {raw!r} is not a date; use YYYY-MM-DD")
            return default_start_date(today)
        oldest = oldest_retained_date(today)
        if value < oldest:
            self.problems.append(
                f"{name}: {raw} is older than Search Console's {RETENTION_MONTHS}-month retention "
                f"(oldest date with data: {oldest}); use {oldest} or later"
            )
        elif value >= today:
            self.problems.append(f"{name}: {raw} is not in the past; use a date before {today}")
        return value

    def data_state(self, name: str) -> DataState:
        choice = self.choice(name, "all", ("all", "final"))
        return DataState.parse(choice)

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() not in allowed:
            self.problems.append(f"{name}: {raw!r} is not one of {', '.join(allowed)}")
            return default
        return raw.lower()

    def flag(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false", "on", "off", "1", "0", "yes", "no"):
            self.problems.append(f"{name}: {raw!r} is not true or false")
            return default
        return raw.lower() in ("true", "on", "1", "yes")

    def inspection_budget(self, name: str) -> int:
        raw = self.raw(name)
        value = self.integer(name, DEFAULT_INSPECTION_BUDGET, 1, 10**9)
        if raw is not None and value > INSPECTIONS_PER_SITE_PER_DAY:
            self.problems.append(
                f"{name}: {value} is above Google's URL Inspection quota of "
                f"{INSPECTIONS_PER_SITE_PER_DAY:,} per property a day; use at most "
                f"{INSPECTIONS_PER_SITE_PER_DAY} (default {DEFAULT_INSPECTION_BUDGET})"
            )
            return DEFAULT_INSPECTION_BUDGET
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: {raw!r} is not a whole number ({low}..{high})")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}: {value} is out of range; use {low}..{high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}: {raw!r} is not a number ({low:g}..{high:g})")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}: {value:g} is out of range; use {low:g}..{high:g}")
        return value

    def url(self, name: str, default: str) -> str:
        return self.optional_url(name) or default

    def optional_url(self, name: str) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problems.append(f"{name}: {raw!r} is not an http(s) URL")
            return None
        return raw.rstrip("/")

    def credentials_file(self, name: str) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return None
        if not Path(raw).is_file():
            self.problems.append(
                f"{name}: no file at {raw!r}; point it at a service-account key JSON "
                "(or unset it and use GSC_ACCESS_TOKEN)"
            )
        return raw

    def database_url(self, name: str) -> str:
        return self.optional_database_url(name) or f"sqlite:///{DEFAULT_DATABASE_PATH}"

    def optional_database_url(self, name: str) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return None
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if not scheme.startswith(("sqlite", "postgres")):
            self.problems.append(
                f"{name}: {_redact_url(raw)!r} is not a SQLAlchemy URL for SQLite or PostgreSQL; "
                "use sqlite:///path/to/file.sqlite or postgresql+psycopg2://user@host/db"
            )
        return raw

    def reports(self, names_variable: str, file_variable: str) -> tuple[Report, ...]:
        raw = self.raw(names_variable)
        names = [n.strip() for n in raw.split(",") if n.strip()] if raw else []
        builtin, problems = select_builtin(names or DEFAULT_REPORT_NAMES)
        self.problems += [f"{names_variable}: {problem}" for problem in problems]
        custom: tuple[Report, ...] = ()
        if self.custom_reports is not None:
            inline, problems = parse_custom_reports(self.custom_reports, "custom_reports")
            self.problems += [f"custom_reports: {problem}" for problem in problems]
            custom += inline
        path = self.raw(file_variable)
        if path is not None:
            loaded, problems = load_custom_reports(path, taken=(*BUILTIN_REPORTS, *custom))
            self.problems += [f"{file_variable}: {problem}" for problem in problems]
            custom += loaded
        return (*builtin, *custom)

    def owners(self, name: str) -> tuple[str, ...]:
        raw = self.raw(name)
        owners = tuple(o.strip() for o in raw.split(",") if o.strip()) if raw else ()
        for owner in owners:
            if "@" not in owner and not owner.startswith("team:"):
                self.problems.append(
                    f"{name}: {owner!r} is neither an e-mail address nor `team:<name>`"
                )
        return owners

    def cron(self, name: str, default: str) -> str:
        raw = self.raw(name)
        if raw is None:
            return default
        if len(raw.split()) != CRON_FIELDS:
            self.problems.append(
                f"{name}: {raw!r} is not a cron expression of 5 fields, e.g. `0 6 * * *`"
            )
            return default
        return raw

    def backfill_policy(self, name: str) -> int | None:
        raw = self.raw(name)
        if raw is None or raw == "single_run":
            return None
        prefix, _, count = raw.partition(":")
        if prefix == "multi_run" and count.isdigit() and int(count) >= 1:
            return int(count)
        self.problems.append(f"{name}: {raw!r} is not `single_run` or `multi_run:N` with N >= 1")
        return None


def site_url_problem(site: str) -> str | None:
    """Why `site` is not a valid Search Console property string, or None."""
    if site.startswith("sc-domain:"):
        domain = site.removeprefix("sc-domain:")
        if not domain or "/" in domain or ":" in domain:
            return f"{site!r}: a domain property is `sc-domain:example.com` (no scheme, no path)"
        return None
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return (
            f"{site!r} is neither a URL-prefix property (`https://www.example.com/`) nor a domain "
            "property (`sc-domain:example.com`)"
        )
    if not site.endswith("/"):
        return (
            f"{site!r} lacks the trailing slash: URL-prefix properties are registered as "
            f"{site + '/'!r} and Google answers 403 for any other form"
        )
    return None


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
