"""Google Search Console performance data into a SQL warehouse, as Dagster assets.

Layers: `search_console` (client, limiter, fetcher; no Dagster, no SQL), `warehouse`
(SQLAlchemy Core schema, writes, stats and check SQL; no Dagster, no HTTP), `simulator`
(a faithful Search Console over HTTP; shares no code with `search_console`), and `defs`
(the thin Dagster layer wiring them together, built by `definitions.py`).

`gsc_assets.SearchConsoleComponent` (the dg component type) is imported on first use, so
importing a plain-Python layer never imports Dagster.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SearchConsoleComponent"]


def __getattr__(name: str) -> Any:
    if name == "SearchConsoleComponent":
        from gsc_assets.defs.component import SearchConsoleComponent

        return SearchConsoleComponent
    raise AttributeError(f"module 'gsc_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
