"""Asset checks: the SQL in `warehouse/quality/`, run after each sync for the run's dates.

Reconciliation checks derive from each report (`totals.reconciliation_for`). Documented
comparisons and the other like-for-like checks are blocking ERRORs: a failure fails the run and
skips the lifetime stats downstream. They also run before publishing, inside each date's write
transaction (`sync.py`), so a failed comparison normally never reaches the warehouse at all; the
checks here catch what changes afterwards. WARN checks (byProperty sums vs property totals,
truncation, URL variants, retention) never block.
Every result's metadata holds the numbers compared and the partition dates it looked at.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.metadata import as_metadata
from gsc_assets.defs.partitions import dates_from_keys
from gsc_assets.defs.resources import WarehouseResource
from gsc_assets.defs.scope import Scope
from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.reconciliation import AT_MOST, reconciliation_for
from gsc_assets.reports.report import Report
from gsc_assets.settings import Settings, oldest_retained_date
from gsc_assets.warehouse import quality
from gsc_assets.warehouse.schema import table_for

RETENTION_WARNING_DAYS = 14  # how early a date about to leave Search Console is reported

Evaluate = Callable[[sa.Connection, list[dt.date]], quality.CheckOutcome]


def check_dates(
    context: dg.AssetCheckExecutionContext, conn: sa.Connection, report: Report
) -> list[dt.date]:
    """The run's partition dates; in a run without partitions (a check run alone), the dates
    the report's most recent sync wrote."""
    if context.has_partition_key or context.has_partition_key_range:
        return dates_from_keys(context.partition_keys)
    return quality.latest_run_dates(conn, report)


def to_result(
    outcome: quality.CheckOutcome,
    dates: Sequence[dt.date] | None = None,
    key: dg.AssetCheckKey | None = None,
) -> dg.AssetCheckResult:
    """A CheckOutcome as Dagster's result for `key` (required in a step of several checks);
    the partition dates judged, if any, in its metadata."""
    metadata = dict(outcome.metadata)
    if dates is not None:
        metadata["partition_dates"] = [d.isoformat() for d in dates]
    return dg.AssetCheckResult(
        asset_key=key.asset_key if key else None,
        check_name=key.name if key else None,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        metadata=as_metadata(metadata),
    )


@dataclass(frozen=True)
class TableCheck:
    """One check on a report's table: its name, description, whether it blocks, and the SQL
    that evaluates it for the run's dates."""

    report: Report
    name: str
    description: str
    blocking: bool
    evaluate: Evaluate


def table_checks_step(
    report: Report, scope: Scope, checks: Sequence[TableCheck]
) -> dg.AssetChecksDefinition:
    """`checks` of one table as one step: one connection and one set of dates for all of them.

    A step per check cost a run ~0.1 s each (step events, resource set-up, a connection).
    Each check keeps its own key, severity and blocking flag, and runs alone when selected
    alone (the UI's "Execute" on one check). A failed blocking check fails the step after
    every selected check has reported, which skips what is downstream.
    """
    key = scope.asset_key(report.table)
    by_key = {dg.AssetCheckKey(key, check.name): check for check in checks}

    @dg.multi_asset_check(
        name=scope.name(f"{report.table}_checks"),
        specs=[
            dg.AssetCheckSpec(
                check.name, asset=key, description=check.description, blocking=check.blocking
            )
            for check in checks
        ],
        can_subset=True,
        required_resource_keys={scope.warehouse_key},
    )
    def run_checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        warehouse: WarehouseResource = getattr(context.resources, scope.warehouse_key)
        selected = [k for k in by_key if k in context.selected_asset_check_keys]
        with warehouse.engine.connect() as conn:
            dates = check_dates(context, conn, report)
            for check_key in selected:
                yield to_result(by_key[check_key].evaluate(conn, dates), dates, check_key)

    return run_checks


def common_checks(report: Report) -> list[TableCheck]:
    """The checks every daily table gets: rows match the sync log, natural keys unique."""
    table = table_for(report)
    return [
        TableCheck(
            report,
            "rows_match_sync_log",
            "Rows stored per site/date/search type equal the rows the latest sync fetched and "
            "stored (gsc_sync_log). ERROR: something changed the table outside a sync.",
            blocking=True,
            evaluate=lambda conn, dates: quality.rows_match_sync_log(conn, report, dates),
        ),
        TableCheck(
            report,
            "has_no_duplicate_keys",
            f"No two rows of {table.name} share a natural key "
            f"({', '.join(c.name for c in table.primary_key)}). ERROR.",
            blocking=True,
            evaluate=lambda conn, dates: quality.has_no_duplicate_keys(conn, table, dates),
        ),
    ]


def reconciliation_checks(report: Report) -> list[TableCheck]:
    """The like-for-like check `totals.reconciliation_for(report)` derives, if there is one."""
    reconciliation = reconciliation_for(report)
    if reconciliation is None:
        return []
    severity = "ERROR, blocking" if reconciliation.blocking else "WARN only, not blocking"
    hidden = (
        "; metadata reports the hidden share of clicks (anonymized queries, capped days)"
        if reconciliation.relation == AT_MOST
        else "; a day that hit the 50,000-row cap is compared at most"
    )
    return [
        TableCheck(
            report,
            quality.reconciliation_check_name(report),
            f"{quality.describe_reconciliation(report, reconciliation)}{hidden}. {severity}.",
            blocking=reconciliation.blocking,
            evaluate=lambda conn, dates: quality.rows_reconcile_with_totals(conn, report, dates),
        )
    ]


def page_checks(settings: Settings) -> list[TableCheck]:
    """Completeness, URL variants, freshness and retention for page rows."""
    return [
        TableCheck(
            PAGE_REPORT,
            "is_complete",
            "ERROR when Search Console's totals show data for a day but no page rows are stored; "
            "WARN when a day reached the 50,000-row cap (metadata: clicks lost per the totals).",
            blocking=True,
            evaluate=lambda conn, dates: quality.is_complete(
                conn, PAGE_REPORT, dates, require_rows=True
            ),
        ),
        TableCheck(
            PAGE_REPORT,
            "has_no_url_variants",
            "WARN when one page appears under several URLs (trailing slash, letter case, "
            "tracking parameters, http vs https), splitting its numbers; examples in metadata.",
            blocking=False,
            evaluate=quality.has_no_url_variants,
        ),
        TableCheck(
            PAGE_REPORT,
            "is_fresh",
            "Every site's newest final page partition is at most "
            f"{settings.freshness_max_age_days} days old (GSC_FRESHNESS_MAX_AGE_DAYS). ERROR, "
            "not blocking.",
            blocking=False,
            evaluate=lambda conn, _dates: quality.is_fresh(
                conn,
                settings.sites,
                today=today_pacific(),
                max_age_days=settings.freshness_max_age_days,
            ),
        ),
        TableCheck(
            PAGE_REPORT,
            "retention_gaps",
            "WARN for dates leaving Search Console's 16-month window within "
            f"{RETENTION_WARNING_DAYS} days that were never synced: sync them before they are "
            "lost.",
            blocking=False,
            evaluate=lambda conn, _dates: retention_gaps(conn, settings, today_pacific()),
        ),
    ]


def retention_gaps(conn: sa.Connection, settings: Settings, today: dt.date) -> quality.CheckOutcome:
    """Unsynced dates among those leaving the retention window soon, from GSC_START_DATE on."""
    oldest = oldest_retained_date(today)
    last = oldest + dt.timedelta(days=RETENTION_WARNING_DAYS - 1)
    return quality.retention_gaps(
        conn,
        settings.sites,
        [t.value for t in settings.search_types],
        first=max(oldest, settings.start_date),
        last=last,
    )


def page_query_checks() -> list[TableCheck]:
    """Truncation for page x query rows."""
    return [
        TableCheck(
            PAGE_QUERY_REPORT,
            "is_complete",
            "WARN when a day reached the 50,000-row cap, with the clicks and impressions the "
            "byPage totals hold beyond the stored rows.",
            blocking=True,
            evaluate=lambda conn, dates: quality.is_complete(
                conn, PAGE_QUERY_REPORT, dates, require_rows=False
            ),
        ),
    ]


def build_checks(scope: Scope) -> list[dg.AssetChecksDefinition]:
    """Every check for the configured reports: one step per table."""
    reports = scope.settings.reports
    checks = [check for report in reports for check in common_checks(report)]
    checks += [check for report in reports for check in reconciliation_checks(report)]
    names = {report.name for report in reports}
    if PAGE_REPORT.name in names:
        checks += page_checks(scope.settings)
    if PAGE_QUERY_REPORT.name in names:
        checks += page_query_checks()
    by_report: dict[str, list[TableCheck]] = {}
    for check in checks:
        by_report.setdefault(check.report.name, []).append(check)
    return [
        table_checks_step(report, scope, by_report[report.name])
        for report in reports
        if report.name in by_report
    ]
