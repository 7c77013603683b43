"""What one set of Search Console definitions is called: the environment's default instance, or
one `SearchConsoleComponent` instance among several in a project.

Two instances in one code location must not collide: each gets its own asset keys (a key
prefix), job, schedule and sensor names, and resource keys (each binds its own warehouse and
credentials). Without a prefix every name is the one the README documents (`gsc_page_daily`,
`gsc_sync_job`, `gsc_daily_schedule`, resources `search_console` and `warehouse`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg

from gsc_assets.settings import Settings

PREFIX_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
DEFAULT_GROUP = "search_console"
DEFAULT_SCHEDULE_CRON = "0 6 * * *"  # 06:00 Pacific: yesterday is in Search Console by then


@dataclass(frozen=True)
class Scope:
    """Validated settings plus how this instance's definitions are named, grouped and tagged."""

    settings: Settings
    key_prefix: str | None = None
    group_name: str = DEFAULT_GROUP
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    schedule_cron: str = DEFAULT_SCHEDULE_CRON
    schedule_running: bool = True

    def asset_key(self, name: str) -> dg.AssetKey:
        """`name` (a table) under this instance's key prefix."""
        return dg.AssetKey([self.key_prefix, name] if self.key_prefix else [name])

    def name(self, base: str) -> str:
        """A job, schedule or sensor name unique to this instance."""
        return f"{self.key_prefix}__{base}" if self.key_prefix else base

    @property
    def search_console_key(self) -> str:
        """The resource key of this instance's SearchConsoleResource."""
        return self.name("search_console")

    @property
    def warehouse_key(self) -> str:
        """The resource key of this instance's WarehouseResource."""
        return self.name("warehouse")

    @property
    def kinds(self) -> set[str]:
        """Where the data comes from and goes: Google, and the warehouse's database."""
        scheme = self.settings.database_url.split(":", 1)[0]
        return {"google", "postgres" if scheme.startswith("postgres") else "sqlite"}
