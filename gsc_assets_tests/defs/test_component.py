"""SearchConsoleComponent in a dg project, against the simulator over HTTP, on SQLite and Postgres.

Contract: one defs.yaml with two instances (two properties, one credential) loads into separate
assets (key prefix), checks, jobs, schedules and resources; materializing a date with each
stores exactly what the simulator serves for its own site; and both instances' requests are
counted in one quota store, under one bucket per site and ONE bucket for the shared credential.
Secrets are only `{{ env.VAR }}` (EnvVar, never the value); bad values are all reported at once.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster.components.testing import create_defs_folder_sandbox

from gsc_assets import SearchConsoleComponent
from gsc_assets.defs.component import scaffold_attributes
from gsc_assets.defs.schedules import RANGE_END_TAG, RANGE_START_TAG
from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.reports.limits import today_pacific
from gsc_assets.settings import SettingsError
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.reliability.harness import expected_rows

DAY = today_pacific() - dt.timedelta(days=5)
TABLES = [report.table for report in CORE_REPORTS]


def two_instances_yaml(sim, warehouse_url: str) -> str:
    first, second = sim.sites
    common = f"""
        api_base_url: {sim.base_url}
        access_token: "{{{{ env.GSC_TEST_SHARED_TOKEN }}}}"
        database_url: "{{{{ env.GSC_TEST_WAREHOUSE_URL }}}}"
        data_state: final
        start_date: "{(DAY - dt.timedelta(days=10)).isoformat()}"
        max_concurrency: 4
        owners: ["team:seo"]
    """
    return textwrap.dedent(f"""
        type: gsc_assets.SearchConsoleComponent
        attributes:
          sites: ["{first}"]
          key_prefix: site_a
          {textwrap.indent(textwrap.dedent(common), "          ").strip()}
        ---
        type: gsc_assets.SearchConsoleComponent
        attributes:
          sites: ["{second}"]
          key_prefix: site_b
          schedule: "0 7 * * *"
          {textwrap.indent(textwrap.dedent(common), "          ").strip()}
    """)


def run_instance(defs: dg.Definitions, prefix: str, instance: dg.DagsterInstance):
    job = defs.resolve_job_def(f"{prefix}__gsc_sync_job")
    return job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey([prefix, table]) for table in TABLES],
        tags={RANGE_START_TAG: DAY.isoformat(), RANGE_END_TAG: DAY.isoformat()},
    )


def test_two_instances_in_one_defs_yaml_sync_their_own_site_and_share_one_quota(
    make_simulator, warehouse_url, monkeypatch
):
    sim = make_simulator()
    monkeypatch.setenv("GSC_TEST_SHARED_TOKEN", "sim-token")
    monkeypatch.setenv("GSC_TEST_WAREHOUSE_URL", warehouse_url)
    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.defs_folder_path / "search_console"
        folder.mkdir()
        (folder / "defs.yaml").write_text(two_instances_yaml(sim, warehouse_url))
        with sandbox.build_all_defs() as defs:
            keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
            for prefix in ("site_a", "site_b"):
                assert {f"{prefix}/{t}" for t in [*TABLES, "gsc_page_lifetime"]} <= keys
                assert defs.resolve_schedule_def(f"{prefix}__gsc_daily_schedule")
            page_a = defs.resolve_assets_def(dg.AssetKey(["site_a", "gsc_page_daily"]))
            assert page_a.specs_by_key[page_a.key].owners == ["team:seo"]
            assert "google" in page_a.specs_by_key[page_a.key].kinds
            assert defs.resolve_schedule_def("site_b__gsc_daily_schedule").cron_schedule == (
                "0 7 * * *"
            )
            checks = {
                key.asset_key.path[0] for c in defs.asset_checks or [] for key in c.check_keys
            }
            assert checks == {"site_a", "site_b"}
            resource = defs.resources["site_a__search_console"]
            assert isinstance(resource.access_token, dg.EnvVar)  # type: ignore[union-attr]
            with dg.DagsterInstance.ephemeral() as instance:
                assert run_instance(defs, "site_a", instance).success
                assert run_instance(defs, "site_b", instance).success
    engine = make_engine(warehouse_url)
    try:
        for table in TABLES:
            for site in sim.sites:
                assert stored(engine, table, site) == len(expected_rows(sim, table, site, DAY))
        with engine.connect() as conn:
            buckets = dict(
                conn.execute(
                    sa.text("select bucket, count(*) from gsc_quota_admissions group by bucket")
                ).all()
            )
    finally:
        engine.dispose()
    users = {name: count for name, count in buckets.items() if name.startswith("user:")}
    sites = {name: count for name, count in buckets.items() if name.startswith("site:")}
    assert set(sites) == {f"site:{site}" for site in sim.sites}
    assert len(users) == 1  # the credential's quota spans both instances
    assert list(users.values()) == [sum(sites.values())]
    assert sum(sites.values()) == sim.stats()["requests_total"]


def stored(engine: sa.Engine, table: str, site: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(f"select count(*) from {table} where site_url = :site and date = :day"),
            {"site": site, "day": DAY},
        ).scalar_one()


def test_a_secret_written_as_a_value_is_refused_naming_the_variable():
    with pytest.raises(Exception, match=r"access_token: a secret must come from the environment"):
        SearchConsoleComponent.resolve_from_yaml("access_token: ya29.secret\n")
    with pytest.raises(Exception, match=r"database_url: a secret"):
        SearchConsoleComponent.resolve_from_yaml(
            "database_url: postgresql+psycopg2://u:hunter2@db/w\n"
        )


def test_every_bad_field_is_reported_at_once_by_its_yaml_name():
    component = SearchConsoleComponent.resolve_from_yaml(
        textwrap.dedent("""
            sites: ["https://www.example.com"]
            qpm_budget: 0
            key_prefix: "a-b"
            search_types: [web, pictures]
        """)
    )
    with pytest.raises(SettingsError) as raised:
        component.settings()
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid configuration:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "- key_prefix",
        "- sites",
        "- search_types",
        "- qpm_budget",
    ]


def test_a_scaffolded_instance_loads_once_site_and_credentials_are_filled_in(monkeypatch):
    attributes = scaffold_attributes("my_site")
    attributes["access_token"] = "{{ env.GSC_TEST_SHARED_TOKEN }}"
    monkeypatch.setenv("GSC_TEST_SHARED_TOKEN", "sim-token")
    component = SearchConsoleComponent.resolve_from_yaml(
        "\n".join(f"{key}: {value!r}" for key, value in attributes.items())
    )
    defs = component.build_defs(None)  # type: ignore[arg-type]
    dg.Definitions.validate_loadable(defs)
    assert dg.AssetKey(["my_site", "gsc_page_daily"]) in defs.resolve_all_asset_keys()
