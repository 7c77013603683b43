"""What every check shares: the outcome type, tolerances, slice keys and the latest syncs read
once."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from gsc_assets.reports.reconciliation import Severity
from gsc_assets.reports.report import Report
from gsc_assets.warehouse.schema import gsc_sync_log
from gsc_assets.warehouse.sync_log import latest_syncs_stmt

RELATIVE_TOLERANCE = 1e-9  # sums of doubles in another order; real differences are whole clicks
ABSOLUTE_TOLERANCE = 1e-6
MAX_EXAMPLES = 5

Slice = tuple[str, dt.date, str]  # (site_url, date, search_type)


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict: passed, how bad a failure is, and the numbers it compared."""

    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def nearly_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def at_most_or_close(a: float, b: float) -> bool:
    return a <= b or nearly_equal(a, b)


def slice_key(row: Any) -> Slice:
    date = row.date if isinstance(row.date, dt.date) else dt.date.fromisoformat(str(row.date))
    return (row.site_url, date, row.search_type)


def dates_metadata(dates: Sequence[dt.date]) -> dict[str, Any]:
    return {"dates": [d.isoformat() for d in sorted(dates)]}


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class LatestSyncs:
    """The latest sync-log row of each slice of one report over some dates, read once."""

    rows: dict[Slice, Any]

    @property
    def non_final(self) -> set[Slice]:
        """Slices whose latest sync holds data Search Console still reported as incomplete."""
        return {key for key, row in self.rows.items() if not row.is_final}

    @property
    def truncated(self) -> set[Slice]:
        """Slices whose latest sync reached the 50,000-row cap."""
        return {key for key, row in self.rows.items() if row.truncated}


def rows_on(
    conn: sa.Connection, table: sa.Table, dates: Sequence[dt.date]
) -> sa.ColumnElement[bool]:
    """`table`'s rows on `dates`, as a condition its natural key can serve.

    The key starts with site_url, so a filter on the date alone reads every row of every date:
    a check (and the audit inside each date's write) would cost more with every month of
    history. Naming the sites the sync log knows keeps it to the dates' own rows. Rows of a
    site this warehouse never synced are outside it (no sync ever vouched for them).
    """
    sites = conn.execute(sa.select(gsc_sync_log.c.site_url).distinct()).scalars().all()
    return sa.and_(table.c.site_url.in_(sites), table.c.date.in_(dates))


def latest_syncs_of(conn: sa.Connection, report: Report, dates: Sequence[dt.date]) -> LatestSyncs:
    """The latest sync of every slice of `report` on `dates` (one query)."""
    log = gsc_sync_log.c
    stmt = latest_syncs_stmt([log.report == report.name, log.date.in_(dates)])
    return LatestSyncs({slice_key(row): row for row in conn.execute(stmt)})
