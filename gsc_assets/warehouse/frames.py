"""Warehouse tables as pandas DataFrames, for checks, notebooks and tests.

Reading only: pandas stays off the write path (`writes.py` works on row tuples).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from gsc_assets.warehouse.schema import metadata


def _table_named(table_name: str) -> sa.Table:
    table = metadata.tables.get(table_name)
    if table is None:
        known = ", ".join(sorted(metadata.tables))
        raise KeyError(f"no warehouse table {table_name!r}; known tables: {known}")
    return table


def read_table_stmt(table: sa.Table, equals_filters: dict[str, Any]) -> sa.Select:
    """SELECT every column of `table` where each named column equals its value, in key order."""
    unknown = sorted(set(equals_filters) - set(table.columns.keys()))
    if unknown:
        raise ValueError(f"table {table.name!r} has no column(s) {', '.join(unknown)}")
    order = list(table.primary_key.columns) or list(table.columns)
    return (
        sa.select(table)
        .where(*(table.c[name] == value for name, value in equals_filters.items()))
        .order_by(*order)
    )


def read_table(engine: sa.Engine, table_name: str, **equals_filters: Any) -> pd.DataFrame:
    """The rows of `table_name` whose columns equal the given values, as a DataFrame."""
    table = _table_named(table_name)
    with engine.connect() as conn:
        result = conn.execute(read_table_stmt(table, equals_filters))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
