"""Daily partitions in Pacific Time, from GSC_START_DATE to the newest day Search Console serves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from gsc_assets.reports.limits import PACIFIC
from gsc_assets.settings import Settings

PACIFIC_TIMEZONE = PACIFIC.key  # Dagster takes the zone by name


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per Search Console day.

    Dagster's daily partitions end with yesterday (`end_offset=0`); final-only data ends three days
    ago, so that mode stops two partitions earlier.
    """
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(),
        timezone=PACIFIC_TIMEZONE,
        end_offset=1 - settings.last_partition_offset_days,
    )


def partition_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """Every date of the run: one partition, or a range when the backfill policy groups them."""
    return dates_from_keys(context.partition_keys)


def dates_from_keys(keys: Sequence[str]) -> list[dt.date]:
    """Partition keys (YYYY-MM-DD) as sorted dates."""
    return sorted(dt.date.fromisoformat(key) for key in keys)


def backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    """Single run by default (a range is one run; fetches overlap writes); multi_run:N on
    request."""
    if settings.backfill_max_partitions_per_run is None:
        return dg.BackfillPolicy.single_run()
    return dg.BackfillPolicy.multi_run(settings.backfill_max_partitions_per_run)
