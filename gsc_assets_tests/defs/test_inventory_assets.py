"""The inventory and URL Inspection assets through Dagster, against the simulator over HTTP.

Contract: the default definitions hold `gsc_sites` + `gsc_sitemaps` (and `gsc_url_inspection`
only with GSC_URL_INSPECTION); their job stores the simulator's answers and runs their checks (a
configured property the credential cannot see fails `configured_properties_visible`);
`gsc_url_inspection` never spends more than GSC_INSPECTION_DAILY_BUDGET per property, across
runs; a budget above Google's quota is one clear configuration error.
"""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.inventory import INVENTORY_JOB_NAME
from gsc_assets.reports.limits import today_pacific
from gsc_assets.settings import SettingsError
from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.warehouse.engine import create_schema, make_engine
from gsc_assets_tests.defs.test_assets import env_for
from gsc_assets_tests.sync.test_inventory import seed_pages

BIG, SMALL = (spec.site_url for spec in DEFAULT_SITES)


def run_inventory(env: dict[str, str]) -> dg.ExecuteInProcessResult:
    defs = build_definitions(env)
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def(INVENTORY_JOB_NAME).execute_in_process(instance=instance)


def test_inventory_assets_store_the_answers_and_their_checks_flag_an_invisible_property(
    make_simulator, warehouse_url
):
    sim = make_simulator(access={"sim-token": (BIG,)})
    env = env_for(sim, warehouse_url, GSC_SITES=f"{BIG},{SMALL}")
    keys = {k.to_user_string() for k in build_definitions(env).resolve_all_asset_keys()}
    assert {"gsc_sites", "gsc_sitemaps"} <= keys and "gsc_url_inspection" not in keys
    result = run_inventory(env)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["configured_properties_visible"].passed
    assert checks["sitemaps_have_no_errors"].passed
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        sites = dict(conn.execute(sa.text("select site_url, visible from gsc_sites")).all())
        maps = conn.execute(sa.text("select count(*) from gsc_sitemaps")).scalar_one()
    engine.dispose()
    assert sites == {BIG: True, SMALL: False} and maps == 3  # BIG's three sitemaps


def test_the_inspection_asset_stays_within_its_daily_budget_across_runs(
    make_simulator, warehouse_url
):
    sim = make_simulator(sites=(DEFAULT_SITES[1],))
    engine = make_engine(warehouse_url)
    create_schema(engine)
    seed_pages(engine, SMALL, 12, day=today_pacific())
    engine.dispose()
    env = env_for(sim, warehouse_url, GSC_URL_INSPECTION="true", GSC_INSPECTION_DAILY_BUDGET="5")
    runs = [run_inventory(env) for _ in range(2)]  # the second run finds the budget spent
    assert all(run.success for run in runs)
    assert sim.inspections() == {SMALL: 5}
    metadata = [r.asset_materializations_for_node("gsc_url_inspection")[0].metadata for r in runs]
    assert [m["inspected"].value for m in metadata] == [5, 0]
    assert metadata[1]["budget_spent"].value == [SMALL]


def test_a_budget_above_googles_quota_is_one_clear_message(simulator, tmp_path):
    env = env_for(
        simulator, f"sqlite:///{tmp_path / 'w.sqlite'}", GSC_INSPECTION_DAILY_BUDGET="2500"
    )
    with pytest.raises(SettingsError) as caught:
        build_definitions(env)
    assert str(caught.value).count("\n- ") == 1
    assert "above Google's URL Inspection quota of 2,000" in str(caught.value)
