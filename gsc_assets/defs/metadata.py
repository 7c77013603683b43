"""Materialization metadata: numbers only where the UI should plot them across partitions."""

from __future__ import annotations

from typing import Any

import dagster as dg

from gsc_assets.search_console.telemetry import FetchStats
from gsc_assets.sync.daily import DateOutcome, SyncOutcome
from gsc_assets.warehouse.quality import AuditFailedError


def sync_metadata(outcome: SyncOutcome, stats: FetchStats) -> dict[str, Any]:
    """What a person wants to see for one report's sync, daily or hourly: rows stored, requests,
    retries, quota use (one builder for both, so `rows` is always the rows stored)."""
    # Fetch telemetry first: its `rows` counts every row fetched (totals requests included), and
    # the sync's own numbers below, the rows actually stored, take precedence.
    metadata: dict[str, Any] = {
        f"fetched_{k}" if k == "rows" else k: v for k, v in stats.as_metadata().items()
    }
    metadata |= {
        "rows": outcome.rows_written,
        "rows_replaced": outcome.rows_deleted,
        "dates": len(outcome.dates),
        "slices": outcome.slices,
        "non_final_slices": outcome.non_final_slices,
        # False while Search Console may still change a date (dataState=all, first_incomplete_date):
        # a later run replaces it with final data.
        "final": not outcome.non_final_dates,
        "non_final_dates": dg.MetadataValue.json([d.isoformat() for d in outcome.non_final_dates]),
        "truncated_slices": outcome.truncated_slices,
        "write_seconds": round(outcome.write_seconds, 3),
    }
    if outcome.dates:
        metadata["first_date"] = dg.MetadataValue.text(min(outcome.dates).isoformat())
        metadata["last_date"] = dg.MetadataValue.text(max(outcome.dates).isoformat())
    if outcome.report.is_hourly:
        metadata["days"] = outcome.slices  # (site, date, type) days fetched hour by hour
        metadata["incomplete_hours"] = outcome.incomplete_hours
        if outcome.first_incomplete_hour:
            metadata["first_incomplete_hour"] = dg.MetadataValue.text(outcome.first_incomplete_hour)
    return metadata


def date_metadata(numbers: DateOutcome) -> dict[str, Any]:
    """One date's own numbers, recorded on that partition's materialization (so the UI's plots
    across partitions show each date, not the run's total)."""
    return {
        "dagster/row_count": numbers.rows,
        "rows": numbers.rows,
        "slices": numbers.slices,
        "requests": numbers.requests,
        "retries": numbers.retries,
        # False while Search Console may still change the date (dataState=all,
        # first_incomplete_date): a later run replaces it with final data.
        "final": numbers.final,
    }


def run_metadata(outcome: SyncOutcome, stats: FetchStats) -> dict[str, Any]:
    """The whole run's numbers, on every partition it wrote, each named `run_*` where a date has
    its own number of the same kind (rows, requests, retries)."""
    metadata = sync_metadata(outcome, stats)
    renamed = {"rows": "run_rows", "requests": "run_requests", "retries": "run_retries"}
    metadata = {renamed.get(key, key): value for key, value in metadata.items()}
    metadata["run_dates"] = metadata.pop("dates")
    metadata["run_slices"] = metadata.pop("slices")
    metadata["run_final"] = metadata.pop("final")
    return metadata


def as_metadata(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values as Dagster metadata: numbers and text as they are, the rest as JSON."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool | int | float | str):
            converted[key] = value
        elif value is None:
            converted[key] = dg.MetadataValue.null()
        else:
            converted[key] = dg.MetadataValue.json(value)
    return converted


def audit_failure_metadata(error: AuditFailedError) -> dict[str, Any]:
    """The numbers of every failed audit check, keyed `<check>.<number>`, plus date and table."""
    values: dict[str, Any] = {"table": error.report.table, "date": error.date.isoformat()}
    for name, outcome in error.outcomes.items():
        values.update({f"{name}.{key}": value for key, value in outcome.metadata.items()})
        values[f"{name}.description"] = outcome.description
    return as_metadata(values)
