"""Dagster's own floor for `cli_run`: a no-op asset partitioned by day, one run per range."""

import dagster as dg


@dg.asset(
    partitions_def=dg.DailyPartitionsDefinition(start_date="2025-01-01"),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def noop() -> None:
    """Does nothing: the run costs only what Dagster's CLI, instance and events cost."""


defs = dg.Definitions(assets=[noop], executor=dg.in_process_executor)
