"""Google Search Console performance data into a SQL warehouse, as Dagster assets.

Layers: `search_console` (client, limiter, fetcher; no Dagster, no SQL), `warehouse`
(SQLAlchemy Core schema, writes, stats and check SQL; no Dagster, no HTTP), `simulator`
(a faithful Search Console over HTTP; shares no code with `search_console`), and `defs`
(the thin Dagster layer wiring them together, built by `definitions.py`).
"""
