"""The SQL side: schema, engines, partition writes, sync log, lifetime stats, DataFrame reads.

SQLAlchemy 2 Core on SQLite or PostgreSQL; never imports dagster or requests.
"""

from gsc_assets.warehouse.engine import WarehouseUnavailableError, create_schema, make_engine
from gsc_assets.warehouse.frames import read_partition, read_table
from gsc_assets.warehouse.lifetime import (
    LifetimeDifference,
    lifetime_matches_full_recompute,
    recompute_lifetime_full,
    refresh_lifetime,
)
from gsc_assets.warehouse.schema import (
    gsc_lifetime_dirty,
    gsc_page_daily,
    gsc_page_lifetime,
    gsc_page_query_daily,
    gsc_site_daily,
    gsc_sync_log,
    metadata,
    table_for,
)
from gsc_assets.warehouse.sync_log import SyncRecord, latest_syncs, non_final_dates, synced_dates
from gsc_assets.warehouse.writes import WriteResult, bare_bulk_insert, replace_partition

__all__ = [
    "LifetimeDifference",
    "SyncRecord",
    "WarehouseUnavailableError",
    "WriteResult",
    "bare_bulk_insert",
    "create_schema",
    "gsc_lifetime_dirty",
    "gsc_page_daily",
    "gsc_page_lifetime",
    "gsc_page_query_daily",
    "gsc_site_daily",
    "gsc_sync_log",
    "latest_syncs",
    "lifetime_matches_full_recompute",
    "make_engine",
    "metadata",
    "non_final_dates",
    "read_partition",
    "read_table",
    "recompute_lifetime_full",
    "refresh_lifetime",
    "replace_partition",
    "synced_dates",
    "table_for",
]
