"""The shared quota store: one sliding-window log for every process and machine of a deployment.

`SqlQuotaStore` implements `search_console.quota_log.QuotaStore` on SQLite or PostgreSQL.
Each admission attempt is ONE short transaction that takes the buckets' locks, counts each
bucket's entries in the window and, only if every bucket has room, records one in each (the
provisional stamp `now + lease`). Settling re-stamps that row to the time the answer arrived:
one more short transaction per request.

- PostgreSQL: `pg_advisory_xact_lock(hashtext(bucket))` per bucket, in sorted order (no
  deadlocks), released at commit. Admission times come from the DATABASE clock
  (`clock_timestamp()`, read after the locks are held), so machines with skewed clocks still
  agree on one timeline; the waits returned are durations, valid on any machine.
- SQLite: `BEGIN IMMEDIATE` takes the database write lock up front (waiting up to the busy
  timeout), on a private engine so the warehouse engine's settings are untouched. Time is this
  machine's `time.time()` read while holding the lock (a SQLite file has one machine).

Reading the time inside the lock matters: a time read before waiting for the lock could be
older than an admission recorded meanwhile, and would leave the window early. Settling needs
no bucket lock: it only moves a stamp earlier, after the answer, so a concurrent admission
that reads either value counts the request correctly.

`pause` / `paused_until` use the caller's epoch time: pauses last minutes, so clock skew of a
second is irrelevant there. Admissions older than the window are pruned now and then.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence

import sqlalchemy as sa

from gsc_assets.search_console.quota_log import Admit, wait_for_bucket

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
# Admissions are kept at least this long, so limiters with a longer window sharing a bucket
# still see theirs; pruning runs once every PRUNE_EVERY admissions of one store.
PRUNE_HORIZON_SECONDS = 300.0
PRUNE_EVERY = 256

metadata = sa.MetaData()
admissions = sa.Table(
    "gsc_quota_admissions",
    metadata,
    sa.Column("bucket", sa.String(512), nullable=False),
    sa.Column("admitted_at", sa.Double(), nullable=False),
    sa.Index("ix_gsc_quota_admissions_bucket_time", "bucket", "admitted_at"),
)
quota_state = sa.Table(
    "gsc_quota_state",
    metadata,
    sa.Column("bucket", sa.String(512), primary_key=True),
    sa.Column("paused_until", sa.Double(), nullable=False, server_default="0"),
    sa.Column("factor", sa.Double(), nullable=False, server_default="1"),
)


_PG_LOCK_AND_CLOCK = sa.text(
    "SELECT set_config('synchronous_commit', 'off', true) AS sync, "
    "extract(epoch FROM clock_timestamp()) AS now "
    "FROM (SELECT count(pg_advisory_xact_lock(hashtext(b))) AS locked "
    "FROM unnest(CAST(:names AS text[])) AS b) AS held"
)
# Re-stamp ONE row per bucket among those recorded at :stamp (rows are bare times, so any one
# will do; in production the database clock makes each admission's stamp unique anyway).
# ONE round trip, with synchronous_commit off for the transaction as in try_admit (the CTE
# is referenced so that it runs; a synchronous commit doubled the cost of a request's quota).
_PG_SETTLE = sa.text(
    "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true) AS v) "
    "UPDATE gsc_quota_admissions SET admitted_at = "
    "COALESCE(:now, extract(epoch FROM clock_timestamp())) "
    "WHERE EXISTS (SELECT 1 FROM async_commit) AND ctid IN (SELECT DISTINCT ON (bucket) ctid "
    "FROM gsc_quota_admissions WHERE bucket = ANY(CAST(:names AS text[])) "
    "AND admitted_at = :stamp)"
).bindparams(sa.bindparam("now", type_=sa.Double()))
_SQLITE_SETTLE = sa.text(
    "UPDATE gsc_quota_admissions SET admitted_at = :now "
    "WHERE rowid IN (SELECT min(rowid) FROM gsc_quota_admissions "
    "WHERE bucket IN :names AND admitted_at = :stamp GROUP BY bucket)"
).bindparams(sa.bindparam("names", expanding=True))


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database in (None, "", ":memory:"):
        raise ValueError(
            "SqlQuotaStore needs a SQLite FILE shared by the processes; an in-memory database "
            "is private to one connection: use InMemoryQuotaStore for a single process"
        )
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # pysqlite's lazy BEGIN off: we emit our own
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit is visible to every process at once and survives a process
        # crash; only an OS crash can lose the last admissions (their requests died with it).
        # Saves an fsync per admission.
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SqlQuotaStore:
    """A `QuotaStore` in SQL, shared by every process that uses the same database.

    `use_caller_time=True` makes the store use the `now` passed by the limiter instead of the
    database/lock-time clock: for deterministic tests with a FakeClock only.
    """

    def __init__(self, engine: sa.Engine, *, use_caller_time: bool = False) -> None:
        self._is_postgres = engine.dialect.name == "postgresql"
        if engine.dialect.name == "sqlite":
            engine = _sqlite_engine(engine.url)
        self._engine = engine
        self._use_caller_time = use_caller_time
        self._attempts = itertools.count(1)
        self._count_lock = threading.Lock()
        self.create_tables()

    def create_tables(self) -> None:
        """Create the store's tables if missing; safe to call from many processes at once."""
        with self._engine.begin() as conn:
            if self._is_postgres:
                # CREATE TABLE IF NOT EXISTS still races in Postgres; serialise it.
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("gsc_quota")))
                )
            metadata.create_all(conn, checkfirst=True)

    def dispose(self) -> None:
        """Close pooled connections (of the private SQLite engine too)."""
        self._engine.dispose()

    def try_admit(
        self,
        buckets: Sequence[tuple[str, int]],
        now: float,
        window_seconds: float,
        lease_seconds: float = 0.0,
    ) -> Admit:
        """See `QuotaStore.try_admit`; one transaction, holding every bucket's lock."""
        with self._engine.begin() as conn:
            now = self._locked_now(conn, sorted({name for name, _ in buckets}), now)
            counts = self._counts(conn, [name for name, _ in buckets], now, window_seconds)
            wait = max(
                self._bucket_wait(conn, name, limit, counts.get(name, 0), now, window_seconds)
                for name, limit in buckets
            )
            if wait > 0:
                return Admit(wait)
            stamp = now + lease_seconds
            rows = [{"bucket": name, "admitted_at": stamp} for name, _ in buckets]
            conn.execute(admissions.insert(), rows)
            with self._count_lock:
                prune = next(self._attempts) % PRUNE_EVERY == 0
            if prune:
                horizon = now - max(window_seconds, PRUNE_HORIZON_SECONDS)
                conn.execute(
                    admissions.delete().where(
                        admissions.c.bucket.in_([b for b, _ in buckets]),
                        admissions.c.admitted_at < horizon,
                    )
                )
            return Admit(0.0, stamp)

    def settle(self, buckets: Sequence[str], stamp: float, now: float) -> None:
        """See `QuotaStore.settle`; one short transaction, the store's clock unless told."""
        names = sorted(set(buckets))
        with self._engine.begin() as conn:
            if self._is_postgres:
                at = now if self._use_caller_time else None  # None: the database clock
                conn.execute(_PG_SETTLE, {"now": at, "names": names, "stamp": stamp})
            else:
                # BEGIN IMMEDIATE holds the write lock: read the time after it, as in try_admit.
                at = now if self._use_caller_time else time.time()
                conn.execute(_SQLITE_SETTLE, {"now": at, "names": names, "stamp": stamp})

    def _locked_now(self, conn: sa.Connection, names: list[str], now: float) -> float:
        if self._is_postgres:
            # ONE round trip: every bucket's lock (the array is sorted and a function scan
            # yields it in order, so locks are taken in sorted order: no deadlocks), then the
            # clock, read by the outer query only once the aggregate has taken every lock; and
            # synchronous_commit off for this transaction (a commit is visible to every session
            # at once either way; only a server crash could lose the last admissions).
            row = conn.execute(_PG_LOCK_AND_CLOCK, {"names": names}).one()
            return now if self._use_caller_time else float(row.now)
        if self._use_caller_time:
            return now
        return time.time()  # SQLite: BEGIN IMMEDIATE already holds the write lock

    @staticmethod
    def _counts(conn: sa.Connection, names: list[str], now: float, window: float) -> dict[str, int]:
        """Admissions in the window per bucket, for every bucket in one query."""
        query = (
            sa.select(admissions.c.bucket, sa.func.count())
            .where(admissions.c.bucket.in_(names), admissions.c.admitted_at > now - window)
            .group_by(admissions.c.bucket)
        )
        return {bucket: count for bucket, count in conn.execute(query)}

    @staticmethod
    def _bucket_wait(
        conn: sa.Connection, bucket: str, limit: int, count: int, now: float, window: float
    ) -> float:
        if count < limit:
            return 0.0
        in_window = sa.and_(admissions.c.bucket == bucket, admissions.c.admitted_at > now - window)
        # Only the admission that must leave for one more to fit matters: times[count - limit].
        oldest_needed = conn.execute(
            sa.select(admissions.c.admitted_at)
            .where(in_window)
            .order_by(admissions.c.admitted_at)
            .offset(count - limit)
            .limit(1)
        ).scalar_one()
        return wait_for_bucket([oldest_needed], 1, now, window)

    def pause(self, bucket: str, until: float) -> None:
        """See `QuotaStore.pause`; a later pause wins over an earlier one."""
        with self._engine.begin() as conn:
            current = self._locked_state(conn, bucket)
            if current is None:
                conn.execute(quota_state.insert().values(bucket=bucket, paused_until=until))
            elif until > current.paused_until:
                conn.execute(
                    quota_state.update()
                    .where(quota_state.c.bucket == bucket)
                    .values(paused_until=until)
                )

    def paused_until(self, bucket: str) -> float:
        """See `QuotaStore.paused_until`."""
        with self._engine.connect() as conn:
            state = self._state(conn, bucket)
        return 0.0 if state is None else float(state.paused_until)

    def get_factor(self, bucket: str) -> float:
        """See `QuotaStore.get_factor`."""
        with self._engine.connect() as conn:
            state = self._state(conn, bucket)
        return 1.0 if state is None else float(state.factor)

    def set_factor(self, bucket: str, factor: float) -> None:
        """See `QuotaStore.set_factor`."""
        with self._engine.begin() as conn:
            if self._locked_state(conn, bucket) is None:
                conn.execute(quota_state.insert().values(bucket=bucket, factor=factor))
            else:
                conn.execute(
                    quota_state.update().where(quota_state.c.bucket == bucket).values(factor=factor)
                )

    def _locked_state(self, conn: sa.Connection, bucket: str) -> sa.Row | None:
        # Read-then-write of one state row: serialise writers so two first writes for a bucket
        # cannot both insert (SQLite's BEGIN IMMEDIATE already does).
        if self._is_postgres:
            lock_key = sa.func.hashtext("state:" + bucket)
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key)))
        return self._state(conn, bucket)

    @staticmethod
    def _state(conn: sa.Connection, bucket: str) -> sa.Row | None:
        query = sa.select(quota_state).where(quota_state.c.bucket == bucket)
        return conn.execute(query).one_or_none()
