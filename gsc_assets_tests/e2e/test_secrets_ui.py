"""Secrets never reach the UI: what the webserver's GraphQL serves for the code location.

Contract: with a password planted in every secret-bearing variable (warehouse URL, quota-store
URL, Celery broker URL, alert webhook URL, access token), neither the repository snapshot the
code server hands the webserver (assets, jobs, run config, resources, sensors, schedules) nor the
GraphQL answers the UI's Deployment view asks for contain any of them: each is an `EnvVar`
shown by its name.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from gsc_assets.definitions import build_definitions

pytestmark = pytest.mark.e2e

PLANTED = {
    "GSC_DATABASE_URL": "postgresql+psycopg2://gsc:pw-warehouse-1@127.0.0.1:1/warehouse",
    "GSC_QUOTA_DATABASE_URL": "postgresql+psycopg2://gsc:pw-quota-2@127.0.0.1:1/quota",
    "GSC_CELERY_BROKER_URL": "pyamqp://gsc:pw-broker-3@127.0.0.1:1//",
    "GSC_ALERT_WEBHOOK_URL": "https://hooks.example.com/services/pw-webhook-4",
    "GSC_ACCESS_TOKEN": "pw-token-5",
}
PASSWORDS = ["pw-warehouse-1", "pw-quota-2", "pw-broker-3", "pw-webhook-4", "pw-token-5"]

RESOURCES_QUERY = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    __typename
    ... on ResourceDetailsList {
      results { name configuredValues { key value type } }
    }
  }
}
"""
REPOSITORIES_QUERY = """
query { repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }
"""


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GSC_EXECUTOR", "celery")
    monkeypatch.setenv("GSC_SITES", "https://www.example.com/")


def test_the_code_locations_snapshot_holds_no_secret(planted):
    defs = build_definitions()  # the process environment: the UI's case
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert [p for p in PASSWORDS if p in snapshot] == []
    assert "GSC_DATABASE_URL" in snapshot  # shown by name instead


def test_the_webservers_graphql_shows_no_secret(planted, tmp_path: Path):
    module = tmp_path / "location.py"
    module.write_text("from gsc_assets.definitions import defs\n")
    with (
        dg.instance_for_test() as instance,
        define_out_of_process_context(str(module), "defs", instance) as context,
    ):
        repositories = execute_dagster_graphql(context, REPOSITORIES_QUERY)
        [repository] = repositories.data["repositoriesOrError"]["nodes"]
        selector = {
            "repositoryName": repository["name"],
            "repositoryLocationName": repository["location"]["name"],
        }
        answer = execute_dagster_graphql(context, RESOURCES_QUERY, {"selector": selector})
    text = repr(answer.data)
    resources = answer.data["allTopLevelResourceDetailsOrError"]["results"]
    assert {r["name"] for r in resources} >= {"search_console", "warehouse"}
    assert [p for p in PASSWORDS if p in text] == []
    assert "GSC_DATABASE_URL" in text and "GSC_ACCESS_TOKEN" in text
    assert os.environ["GSC_ACCESS_TOKEN"] == "pw-token-5"  # planted, and still hidden
