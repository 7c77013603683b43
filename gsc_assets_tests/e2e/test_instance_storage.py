"""Dagster instance storage: SQLite under DAGSTER_HOME by default, PostgreSQL by swapping the yaml.

Contract: the shipped `dagster.yaml` gives SQLite storage and the documented concurrency caps;
`dagster_postgres.yaml`, copied into DAGSTER_HOME as dagster.yaml with GSC_DAGSTER_PG_URL set, puts
runs, the event log and schedules in PostgreSQL (nothing in SQLite files) with the same caps, and
a `dagster asset materialize` run lands there.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from gsc_assets.reports.limits import today_pacific
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    dagster_materialize,
    gsc_env,
    make_dagster_home,
    open_instance,
)

pytestmark = pytest.mark.e2e


def instance_yaml(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text())


def test_default_instance_is_sqlite_under_dagster_home_with_the_documented_caps(tmp_path):
    home = make_dagster_home(tmp_path / "home")

    with open_instance(home) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        # Dagster's SQLite event log with an atomic pool slot claim (defs/sqlite_slots.py).
        assert type(instance.event_log_storage).__name__ == "AtomicSlotSqliteEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "SqliteScheduleStorage"
        config = instance.get_concurrency_config()
        assert config.pool_config.pool_granularity.value == "op"
        assert config.pool_config.default_pool_limit == 2
        assert config.run_queue_config.max_concurrent_runs == 4
        assert config.run_queue_config.tag_concurrency_limits == [
            {"key": "gsc/site", "limit": 1, "value": {"applyLimitPerUniqueValue": True}},
            {"key": "dagster/backfill", "limit": 2},
        ]
        assert instance.event_log_storage.get_concurrency_info("gsc_api").limit == 2


def test_postgres_instance_yaml_differs_from_the_default_only_in_storage():
    default = instance_yaml("deploy/dagster.yaml")
    postgres = instance_yaml("deploy/dagster_postgres.yaml")

    assert postgres.pop("storage") == {"postgres": {"postgres_url": {"env": "GSC_DAGSTER_PG_URL"}}}
    assert postgres == default


@pytest.fixture
def dagster_database_url(fresh_database: str) -> str:
    """A fresh, empty PostgreSQL database for one Dagster instance (dropped afterwards)."""
    return fresh_database


@pytest.mark.postgres
def test_cli_materialization_lands_in_the_postgres_instance(
    simulator, tmp_path, monkeypatch, dagster_database_url
):
    home = make_dagster_home(tmp_path / "home", REPO_ROOT / "deploy" / "dagster_postgres.yaml")
    day = today_pacific() - dt.timedelta(days=5)
    env = gsc_env(
        dagster_home=home,
        api_base_url=simulator.base_url,
        sites=simulator.sites,
        database_url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        extra={
            "GSC_DAGSTER_PG_URL": dagster_database_url,
            "GSC_START_DATE": (day - dt.timedelta(days=10)).isoformat(),
        },
    )

    result = dagster_materialize(["gsc_site_daily"], env, partition=day.isoformat())

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not list(home.rglob("*.db")), "instance data went to SQLite files"
    engine = sa.create_engine(dagster_database_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("select status from runs")).scalars().all()
        materialized = conn.execute(
            sa.text(
                "select partition from event_logs "
                "where dagster_event_type = 'ASSET_MATERIALIZATION' and asset_key like :key"
            ),
            {"key": '%"gsc_site_daily"%'},
        ).scalars()
        assert runs == ["SUCCESS"]
        assert list(materialized) == [day.isoformat()]
        assert {"jobs", "job_ticks", "instigators"} <= set(sa.inspect(conn).get_table_names())
    engine.dispose()

    monkeypatch.setenv("GSC_DAGSTER_PG_URL", dagster_database_url)
    with open_instance(home) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        (run,) = instance.get_runs()
        assert run.is_success
        assert instance.get_materialized_partitions(dg.AssetKey("gsc_site_daily")) == {
            day.isoformat()
        }
