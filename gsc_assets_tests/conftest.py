"""Shared fixtures: a real simulator over HTTP, warehouse engines on SQLite and Postgres, a fake
clock.

Postgres tests read GSC_TEST_POSTGRES_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/test)
and skip with a visible reason when it is unreachable, unless GSC_REQUIRE_POSTGRES=1 (CI), which
turns the skip into a failure. Each Postgres test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from gsc_assets_tests.fakes import FakeClock

# The simulator fixtures (`simulator`, `make_simulator`) live beside the simulator's own tests.
pytest_plugins = ["gsc_assets_tests.fixtures_simulator"]

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long soak variants too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip_soak = pytest.mark.skip(reason="soak variant: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip_soak)


def postgres_url() -> str:
    """The admin URL of the test PostgreSQL server, with the psycopg2 driver made explicit."""
    url = os.environ.get("GSC_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


_postgres_state: dict[str, str | None] = {}


def require_postgres() -> str:
    """Return the server URL, or skip (fail under GSC_REQUIRE_POSTGRES=1) when unreachable."""
    if "error" not in _postgres_state:
        try:
            engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            _postgres_state["error"] = None
        except Exception as exc:  # any failure to connect means "unreachable"
            _postgres_state["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    error = _postgres_state["error"]
    if error is not None:
        message = f"PostgreSQL unreachable at GSC_TEST_POSTGRES_URL ({error})"
        if os.environ.get("GSC_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " and GSC_REQUIRE_POSTGRES=1")
        pytest.skip(message)
    return postgres_url()


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, private schema (dropped afterwards)."""
    server_url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    url = f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A warehouse URL, once for SQLite and once for Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def warehouse_engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """An engine with the warehouse schema created, on SQLite and on Postgres."""
    from gsc_assets.warehouse.engine import create_schema, make_engine

    engine = make_engine(warehouse_url)
    create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that only moves when slept on or advanced."""
    return FakeClock()


@pytest.fixture(autouse=True)
def _clean_gsc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own GSC_* or Google credentials settings."""
    for name in list(os.environ):
        if name.startswith("GSC_") and name not in {
            "GSC_TEST_POSTGRES_URL",
            "GSC_REQUIRE_POSTGRES",
            "GSC_REQUIRE_BROWSER",
            "GSC_REQUIRE_BROKER",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
