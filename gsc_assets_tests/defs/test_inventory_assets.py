"""The inventory and URL Inspection assets through Dagster, against the simulator over HTTP.

Contract: materializing `gsc_sites` + `gsc_sitemaps` stores the simulator's answers and runs
their checks (a configured property the credential cannot see fails
`configured_properties_visible`); `gsc_url_inspection` never spends more than its daily budget
per property, across runs.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.inventory import (
    build_inspection_asset,
    build_inventory_assets,
    build_inventory_checks,
)
from gsc_assets.defs.resources import SearchConsoleResource, WarehouseResource
from gsc_assets.reports.limits import today_pacific
from gsc_assets.settings import Settings
from gsc_assets.warehouse.engine import create_schema, make_engine
from gsc_assets_tests.sync.test_inventory import seed_pages

BIG, SMALL = "https://www.example.com/", "sc-domain:example.org"


def resources(sim, warehouse_url: str) -> dict[str, object]:
    return {
        "search_console": SearchConsoleResource(
            api_base_url=sim.base_url,
            access_token="sim-token",
            quota_database_url=warehouse_url,
        ),
        "warehouse": WarehouseResource(database_url=warehouse_url),
    }


def test_inventory_assets_store_the_answers_and_their_checks_flag_an_invisible_property(
    make_simulator, warehouse_url
):
    sim = make_simulator(access={"sim-token": (BIG,)})
    settings = Settings(sites=(BIG, SMALL), access_token="sim-token")
    assets = build_inventory_assets(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*assets, *build_inventory_checks(inspection=False)],
            resources=resources(sim, warehouse_url),
            instance=instance,
        )
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
    sim = make_simulator(sites=(sim_site(),))
    engine = make_engine(warehouse_url)
    create_schema(engine)
    seed_pages(engine, SMALL, 12, day=today_pacific())
    engine.dispose()
    settings = Settings(sites=(SMALL,), access_token="sim-token")
    asset = build_inspection_asset(settings, daily_budget=5)
    runs = []
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):  # a second run the same day finds the budget spent
            runs.append(
                dg.materialize(
                    [asset, *build_inventory_checks(inspection=True)],
                    resources=resources(sim, warehouse_url),
                    instance=instance,
                    selection=[asset.key],
                )
            )
    assert all(run.success for run in runs)
    assert sim.inspections() == {SMALL: 5}
    inspected = [r.asset_materializations_for_node(asset.op.name)[0].metadata for r in runs]
    assert [m["inspected"].value for m in inspected] == [5, 0]
    assert inspected[1]["budget_spent"].value == [SMALL]


def sim_site():
    from gsc_assets.simulator.dataset import DEFAULT_SITES

    return DEFAULT_SITES[1]
