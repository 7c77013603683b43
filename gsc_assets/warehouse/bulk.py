"""Bulk insert through the database driver: the hot path of every partition write.

A page x query day is 50,000 rows, so rows go to the driver directly: PostgreSQL
`COPY .. FROM STDIN` (CSV) through psycopg2, SQLite a prepared `executemany`. Both bind values;
nothing is formatted into SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from gsc_assets.warehouse.engine import is_sqlite

COPY_CHUNK_BYTES = 1 << 20


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[Any]]) -> int:
    """Bulk insert column-ordered value tuples through the driver; returns the rows inserted."""
    if is_sqlite(conn):
        return _executemany_insert(conn, table, rows)
    return _copy_insert(conn, table, rows)


def _executemany_insert(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[Any]]) -> int:
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(column.name) for column in table.columns)
    placeholders = ", ".join("?" for _ in table.columns)
    sql = f"INSERT INTO {preparer.format_table(table)} ({columns}) VALUES ({placeholders})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def copy_from_stdin_sql(conn: sa.Connection, table: sa.Table) -> str:
    """`COPY table (columns) FROM STDIN` in CSV, where only nullable columns read "" as NULL.

    Every field is written quoted, so an empty string in a text column stays an empty string.
    """
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(column.name) for column in table.columns)
    nullable = ", ".join(preparer.quote(column.name) for column in table.columns if column.nullable)
    force_null = f", FORCE_NULL ({nullable})" if nullable else ""
    return (
        f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN WITH (FORMAT csv{force_null})"
    )


def _copy_insert(conn: sa.Connection, table: sa.Table, rows: Iterable[Sequence[Any]]) -> int:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(copy_from_stdin_sql(conn, table), buffer, size=COPY_CHUNK_BYTES)
        return int(cursor.rowcount)
    finally:
        cursor.close()
