"""The example deployment files under deploy/ load: YAML parses, instance files pass Dagster's
instance config schema, the Celery one constructs a real DagsterInstance on PostgreSQL, and the
worker file matches the executor config the definitions build from GSC_CELERY_*."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config_schema

from gsc_assets.defs.executors import build_executor, celery_executor_config
from gsc_assets.settings import Settings, SettingsError

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
INSTANCE_FILES = ["dagster-k8s.yaml", "dagster-docker.yaml", "dagster-celery.yaml"]


def test_every_deploy_file_is_yaml_and_listed_here():
    files = sorted(p.name for p in DEPLOY.glob("*.yaml"))
    # dagster.yaml and dagster_postgres.yaml: the single-machine instances (test_instance_storage).
    local = ["dagster.yaml", "dagster_postgres.yaml"]
    assert files == sorted([*INSTANCE_FILES, *local, "celery-worker.yaml"])
    for name in files:
        assert isinstance(yaml.safe_load((DEPLOY / name).read_text()), dict), name


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_instance_file_passes_dagsters_instance_schema(name, monkeypatch):
    monkeypatch.setenv("GSC_DAGSTER_PG_URL", "postgresql+psycopg2://dagster@db:5432/dagster")
    config = yaml.safe_load((DEPLOY / name).read_text())
    result = process_config(dagster_instance_config_schema(), config)
    assert result.success, result.errors
    assert set(config["storage"]) == {"postgres"}  # shared by every process: never SQLite


@pytest.mark.postgres
def test_celery_instance_file_constructs_an_instance_on_postgres(
    postgres_schema_url, tmp_path, monkeypatch
):
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster-celery.yaml").read_text())
    monkeypatch.setenv("GSC_DAGSTER_PG_URL", postgres_schema_url)
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_runs_count() == 0


def test_worker_file_matches_the_executor_config_built_from_the_environment():
    worker = yaml.safe_load((DEPLOY / "celery-worker.yaml").read_text())["execution"]["config"]
    settings = Settings.from_env(
        {
            "GSC_EXECUTOR": "celery",
            "GSC_CELERY_BROKER_URL": worker["broker"],
            "GSC_CELERY_QUEUE": worker["config_source"]["task_default_queue"],
        }
    )
    assert celery_executor_config(settings) == worker
    executor = build_executor(settings)
    assert executor is not None and executor.name == "gsc_celery_executor"


def test_executor_setting_selects_dagsters_executors_and_requires_a_broker_for_celery():
    assert build_executor(Settings.from_env({})) is dg.in_process_executor
    assert (
        build_executor(Settings.from_env({"GSC_EXECUTOR": "multiprocess"}))
        is dg.multiprocess_executor
    )
    with pytest.raises(
        SettingsError, match="GSC_CELERY_BROKER_URL: required when GSC_EXECUTOR=celery"
    ):
        Settings.from_env({"GSC_EXECUTOR": "celery"})
    with pytest.raises(SettingsError, match="GSC_EXECUTOR: 'threads' is not one of"):
        Settings.from_env({"GSC_EXECUTOR": "threads"})


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_every_instance_file_monitors_runs_like_the_repositorys(name):
    shipped = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_monitoring"]
    config = yaml.safe_load((DEPLOY / name).read_text())
    assert shipped["enabled"] is True and shipped["max_runtime_seconds"] > 0
    assert shipped["free_slots_after_run_end_seconds"] > 0
    assert config["run_monitoring"] == shipped
