"""Materialization metadata: numbers only where the UI should plot them across partitions."""

from __future__ import annotations

from typing import Any

import dagster as dg

from gsc_assets.defs.sync import SyncOutcome
from gsc_assets.search_console.telemetry import FetchStats


def sync_metadata(outcome: SyncOutcome, stats: FetchStats) -> dict[str, Any]:
    """What a person wants to see for one report's sync: rows, requests, retries, quota use."""
    metadata: dict[str, Any] = {
        "rows": outcome.rows_written,
        "rows_replaced": outcome.rows_deleted,
        "dates": len(outcome.dates),
        "slices": outcome.slices,
        "non_final_slices": outcome.non_final_slices,
        "truncated_slices": outcome.truncated_slices,
        "write_seconds": round(outcome.write_seconds, 3),
    }
    metadata.update(stats.as_metadata())
    if outcome.dates:
        metadata["first_date"] = dg.MetadataValue.text(min(outcome.dates).isoformat())
        metadata["last_date"] = dg.MetadataValue.text(max(outcome.dates).isoformat())
    return metadata
