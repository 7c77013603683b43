"""The SQL behind the data-quality checks: each function returns a CheckOutcome, never raises.

Three families: `reconciliation` (rows against Google's totals, and the audit gate),
`integrity` (rows against their sync, unique keys, URL variants) and `coverage` (capped or
missing slices, freshness, retention).

No Dagster types here: `gsc_assets/defs/checks.py` turns outcomes into asset-check results and
`audit_written_date` runs the like-for-like ones inside a partition's write transaction
(write-audit-publish: a failing audit rolls the new version back, the previous one stays).

What compares with what (docs/search_console_api.md "Data limits and semantics") follows each
report's value
(`totals.reconciliation_for`): rows summed per slice == the totals of the report's aggregation
type (exact, up to float rounding), or <= them for query-grouped rows (anonymized queries are in
totals, never rows) and capped slices (the 50,000-row cap drops the tail); the gap is reported as
the hidden share. byPage rows are never compared with byProperty totals or the other way round.
Every function takes the dates to look at and works on a Connection, so it can run on the write
transaction (seeing uncommitted rows) or on its own.
"""

from gsc_assets.warehouse.quality.common import CheckOutcome
from gsc_assets.warehouse.quality.coverage import (
    is_complete,
    is_fresh,
    latest_run_dates,
    retention_gaps,
)
from gsc_assets.warehouse.quality.integrity import (
    has_no_duplicate_keys,
    has_no_url_variants,
    rows_match_sync_log,
)
from gsc_assets.warehouse.quality.reconciliation import (
    AuditFailedError,
    SliceSums,
    audit_written_date,
    describe_reconciliation,
    pages_sum_to_page_totals,
    queries_within_page_totals,
    reconciliation_check_name,
    rows_reconcile_with_totals,
    slice_sums,
)

__all__ = [
    "AuditFailedError",
    "CheckOutcome",
    "SliceSums",
    "audit_written_date",
    "describe_reconciliation",
    "has_no_duplicate_keys",
    "has_no_url_variants",
    "is_complete",
    "is_fresh",
    "latest_run_dates",
    "pages_sum_to_page_totals",
    "queries_within_page_totals",
    "reconciliation_check_name",
    "retention_gaps",
    "rows_match_sync_log",
    "rows_reconcile_with_totals",
    "slice_sums",
]
