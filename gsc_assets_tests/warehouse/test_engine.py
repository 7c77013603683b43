"""Contract of `make_engine` / `create_schema`: Postgres URLs use psycopg2; SQLite runs in WAL with
a busy timeout and real transactions (BEGIN is emitted); schema creation is idempotent; an
unreachable database fails with a message naming GSC_DATABASE_URL and never the password.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gsc_assets.warehouse.engine import (
    WarehouseUnavailableError,
    create_schema,
    make_engine,
    normalise_url,
)
from gsc_assets.warehouse.schema import metadata


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgres://u@h:5/db", "postgresql+psycopg2://u@h:5/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///x.sqlite", "sqlite:///x.sqlite"),
    ],
)
def test_normalise_url_uses_psycopg2_for_postgres(url, expected):
    assert normalise_url(url) == expected


def test_make_engine_configures_sqlite_for_concurrent_use(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'w.sqlite'}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "dir").is_dir()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 30_000,
        "foreign_keys": 1,
    }


def test_make_engine_gives_sqlite_real_transactions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
            assert conn.connection.driver_connection.in_transaction
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.rollback()
        assert not sa.inspect(engine).has_table("t")
    finally:
        engine.dispose()


def test_create_schema_is_idempotent(warehouse_engine):
    create_schema(warehouse_engine)
    create_schema(warehouse_engine)

    assert set(metadata.tables) <= set(sa.inspect(warehouse_engine).get_table_names())


def test_create_schema_names_the_setting_when_the_database_is_unreachable():
    engine = make_engine("postgresql://gsc:s3cret@127.0.0.1:1/warehouse?connect_timeout=2")

    with pytest.raises(WarehouseUnavailableError) as caught:
        create_schema(engine)

    message = str(caught.value)
    assert "GSC_DATABASE_URL" in message
    assert "127.0.0.1:1/warehouse" in message
    assert "s3cret" not in message


def test_make_engine_names_the_setting_when_the_sqlite_folder_cannot_be_made(tmp_path):
    (tmp_path / "a-file").write_text("")

    with pytest.raises(WarehouseUnavailableError, match="GSC_DATABASE_URL"):
        make_engine(f"sqlite:///{tmp_path / 'a-file' / 'sub' / 'w.sqlite'}")
