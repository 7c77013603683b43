"""The SQL side: schema, engines, partition writes, sync log, lifetime stats, checks' SQL.

SQLAlchemy 2 Core on SQLite or PostgreSQL; never imports dagster or requests. Import the modules
themselves (`gsc_assets.warehouse.writes`, ...): this package file imports nothing, so using one
module never loads the others (pandas only comes with `frames`).
"""
