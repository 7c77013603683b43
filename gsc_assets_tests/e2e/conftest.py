"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gsc_assets_tests.conftest import require_postgres


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (Dagster instance, warehouse, quota state), dropped after
    the test; skipped (failed under GSC_REQUIRE_POSTGRES=1) when PostgreSQL is unreachable."""
    server_url = sa.make_url(require_postgres())
    name = f"gsc_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
