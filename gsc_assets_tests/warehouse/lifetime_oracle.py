"""The test oracle for incremental lifetime stats: a full recomputation to compare with."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gsc_assets.warehouse.engine import begin_write, lock_table_exclusive
from gsc_assets.warehouse.lifetime import (
    LIFETIME_KEY,
    LIFETIME_VALUES,
    insert_lifetime_stmt,
    lifetime_aggregate_select,
)
from gsc_assets.warehouse.schema import gsc_lifetime_dirty, gsc_page_lifetime

FLOAT_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LifetimeDifference:
    """One way the stored lifetime table differs from a full recomputation."""

    key: tuple[str, str, str]
    column: str
    stored: Any
    expected: Any


def recompute_lifetime_full(engine: sa.Engine) -> None:
    """Rebuild the whole lifetime table from gsc_page_daily and clear the dirty set."""
    with begin_write(engine) as conn:
        lock_table_exclusive(conn, gsc_lifetime_dirty)
        conn.execute(sa.delete(gsc_page_lifetime))
        conn.execute(insert_lifetime_stmt(only_dirty=False, updated_at=dt.datetime.now(dt.UTC)))
        conn.execute(sa.delete(gsc_lifetime_dirty))


def lifetime_matches_full_recompute(engine: sa.Engine) -> list[LifetimeDifference]:
    """Every difference between gsc_page_lifetime and a full recomputation (empty = consistent).

    Floats compare with a relative tolerance of FLOAT_RELATIVE_TOLERANCE (sums in another order).
    """
    stored_columns = [gsc_page_lifetime.c[name] for name in (*LIFETIME_KEY, *LIFETIME_VALUES)]
    with engine.connect() as conn:
        stored = _by_key(conn.execute(sa.select(*stored_columns)))
        expected = _by_key(conn.execute(lifetime_aggregate_select(only_dirty=False)))
    differences = []
    for key in sorted(stored.keys() | expected.keys()):
        stored_row, expected_row = stored.get(key), expected.get(key)
        if stored_row is None or expected_row is None:
            differences.append(LifetimeDifference(key, "<row>", stored_row, expected_row))
            continue
        differences.extend(
            LifetimeDifference(key, column, stored_row[column], expected_row[column])
            for column in LIFETIME_VALUES
            if not _same(stored_row[column], expected_row[column])
        )
    return differences


def _by_key(result: sa.Result[Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (row["site_url"], row["search_type"], row["page"]): dict(row) for row in result.mappings()
    }


def _same(stored: Any, expected: Any) -> bool:
    if isinstance(stored, float) and isinstance(expected, float):
        return math.isclose(stored, expected, rel_tol=FLOAT_RELATIVE_TOLERANCE, abs_tol=1e-12)
    return bool(stored == expected)
