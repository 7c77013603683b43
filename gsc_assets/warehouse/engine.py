"""Engines for the warehouse, and every difference between SQLite and PostgreSQL.

SQLite facts this module relies on:
- pysqlite does not emit `BEGIN` when SQLAlchemy starts a transaction (it begins lazily, before
  DML only), so SELECTs and DDL would run outside the transaction. We switch its own handling off
  and emit `BEGIN` ourselves on SQLAlchemy's "begin" event (the recipe in SQLAlchemy's SQLite
  dialect docs, "Serializable isolation / Savepoints / Transactional DDL").
- In WAL mode readers never block writers and see the last committed state, so a reader never
  sees half a partition. Writers start with `BEGIN IMMEDIATE` (`begin_write`): the write lock is
  taken up front and waits `busy_timeout`, instead of failing on a lock upgrade mid-transaction.

PostgreSQL: SQLAlchemy 2.1 maps `postgresql://` to psycopg 3, which is not installed; psycopg2 is
(dagster-postgres brings it), so URLs are normalised to `postgresql+psycopg2://`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gsc_assets.warehouse.schema import metadata

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
_BEGIN_IMMEDIATE = "gsc_begin_immediate"  # execution option read by the "begin" event


class WarehouseUnavailableError(RuntimeError):
    """The warehouse database cannot be reached; the message names GSC_DATABASE_URL."""


def normalise_url(url: str) -> str:
    """Map `postgres://` and `postgresql://` to the psycopg2 driver; leave other URLs alone."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine for the warehouse at `url` (a SQLite file or PostgreSQL), set up for our writes."""
    sa_url = sa.make_url(normalise_url(url))
    if sa_url.get_backend_name() == "sqlite":
        return _sqlite_engine(sa_url)
    if sa_url.get_backend_name() == "postgresql":
        connect_args = {}
        if "connect_timeout" not in sa_url.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
        return sa.create_engine(sa_url, pool_pre_ping=True, connect_args=connect_args)
    return sa.create_engine(sa_url, pool_pre_ping=True)


def _sqlite_engine(sa_url: sa.URL) -> sa.Engine:
    database = sa_url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseUnavailableError(
                f"cannot create the folder {folder} for the SQLite warehouse ({exc.strerror}); "
                "check GSC_DATABASE_URL"
            ) from exc
    engine = sa.create_engine(sa_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _emit_sqlite_begin)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see module docstring
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _emit_sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get(_BEGIN_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(bind: sa.Engine | sa.Connection) -> bool:
    """True for SQLite, False for PostgreSQL (the two dialects we support)."""
    return bind.dialect.name == "sqlite"


@contextmanager
def begin_write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that will write: committed on exit, rolled back on any exception.

    On SQLite it takes the database write lock at BEGIN (waiting up to busy_timeout).
    """
    with engine.connect() as conn:
        if is_sqlite(conn):
            conn = conn.execution_options(**{_BEGIN_IMMEDIATE: True})
        with conn.begin():
            yield conn


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for an advisory lock named by `parts`."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(conn: sa.Connection, *name: str) -> None:
    """Serialise transactions that name the same thing; released at commit or rollback.

    SQLite needs nothing: `begin_write` already holds the database-wide write lock.
    """
    if not is_sqlite(conn):
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(*name))))


def lock_table_exclusive(conn: sa.Connection, table: sa.Table) -> None:
    """Block other writers of `table` until this transaction ends (readers are not blocked)."""
    if not is_sqlite(conn):
        name = conn.dialect.identifier_preparer.format_table(table)
        conn.exec_driver_sql(f"LOCK TABLE {name} IN EXCLUSIVE MODE")


def insert_ignoring_duplicates(bind: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """`INSERT .. ON CONFLICT DO NOTHING` for `table`, in the dialect of `bind`.

    Returns an Insert with `.from_select()` / `.values()` and `.on_conflict_do_nothing()`.
    """
    dialect_insert = sqlite.insert if is_sqlite(bind) else postgresql.insert
    return dialect_insert(table)


def describe_url(engine: sa.Engine) -> str:
    """The engine's URL with any password hidden, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def ensure_reachable(engine: sa.Engine, *, setting: str = "GSC_DATABASE_URL") -> None:
    """Connect once; on failure raise WarehouseUnavailableError naming `setting` and the fix."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        first_line = (str(exc.orig or exc).strip().splitlines() or [""])[0]
        raise WarehouseUnavailableError(
            f"cannot reach the warehouse database at {describe_url(engine)} ({first_line}); "
            f"check {setting} and that the database server is running and accepts "
            "connections"
        ) from exc


def create_schema(engine: sa.Engine) -> None:
    """Create every warehouse table and index not there yet; idempotent and concurrency-safe.

    A table made by an older release gains the nullable columns added since (`add_new_columns`).
    """
    ensure_reachable(engine)
    with begin_write(engine) as conn:
        lock_for_transaction(conn, "gsc_assets.create_schema")
        metadata.create_all(conn, checkfirst=True)
        add_new_columns(conn)


def add_new_columns(conn: sa.Connection) -> list[str]:
    """Add to existing tables the nullable columns the schema gained since they were created.

    Only additive, nullable columns are ever added this way (old rows read NULL: "not recorded
    then"), so the change is safe on a live warehouse. Returns "table.column" for each added.
    """
    inspector = sa.inspect(conn)
    added = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing or not column.nullable:
                continue
            preparer = conn.dialect.identifier_preparer
            column_type = column.type.compile(dialect=conn.dialect)
            conn.execute(
                sa.text(
                    f"ALTER TABLE {preparer.format_table(table)} "
                    f"ADD COLUMN {preparer.quote(column.name)} {column_type}"
                )
            )
            added.append(f"{table.name}.{column.name}")
    return added
