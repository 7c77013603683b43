"""Alert sensors on a real Dagster instance holding real failed runs and check evaluations.

Contract: each failed check evaluation and each failed run is POSTed once (the cursor prevents
duplicates on later ticks); a refusing webhook delays the alert to a later tick, never drops it.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates
from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.limits import today_pacific
from gsc_assets_tests.defs.test_alerts import receiver  # noqa: F401 - fixture
from gsc_assets_tests.defs.test_assets import env_for
from gsc_assets_tests.defs.test_checks import SMALL_SITE, corrupt_page_totals

WEBSERVER = "http://dagster.example:3000"


@pytest.fixture
def day() -> dt.date:
    return today_pacific() - dt.timedelta(days=5)


def tick(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    outcome = defs.get_sensor_def(name)(context)
    return outcome, context.cursor


def test_each_failed_check_is_alerted_once(make_simulator, receiver, tmp_path, day):  # noqa: F811
    sim = make_simulator(sites=(SMALL_SITE,))
    env = env_for(
        sim,
        f"sqlite:///{tmp_path / 'w.sqlite'}",
        GSC_FRESHNESS_MAX_AGE_DAYS="4",
        GSC_ALERT_WEBHOOK_URL=receiver.url,
        DAGSTER_WEBSERVER_URL=WEBSERVER,
    )
    defs = build_definitions(env)
    with dg.instance_for_test() as instance:
        result = materialize_dates(defs, [PAGE_REPORT.table], day, day, instance=instance)
        assert result.success
        failed = sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed)
        assert "is_fresh" in failed
        _, cursor = tick(defs, "check_failed_alert_sensor", instance, None)
        assert (
            sorted(b["alert"]["title"].split("check ")[1].split()[0] for b in receiver.bodies)
            == failed
        )
        fresh = next(b["alert"] for b in receiver.bodies if "is_fresh" in b["alert"]["title"])
        assert fresh["sites"] == [SMALL_SITE.site_url]
        assert fresh["dates"] == [day.isoformat()]
        assert fresh["numbers"]["max_age_days"] == 4
        assert fresh["run_url"] == f"{WEBSERVER}/runs/{result.run_id}"
        tick(defs, "check_failed_alert_sensor", instance, cursor)
        assert len(receiver.bodies) == len(failed)  # no duplicates on the next tick


def test_each_failed_run_is_alerted_once_and_a_refused_alert_is_retried(
    make_simulator,
    receiver,  # noqa: F811
    tmp_path,
    day,
):
    sim = make_simulator(sites=(SMALL_SITE,))
    env = env_for(sim, f"sqlite:///{tmp_path / 'w.sqlite'}", GSC_ALERT_WEBHOOK_URL=receiver.url)
    defs = build_definitions(env)
    with dg.instance_for_test() as instance:
        corrupt_page_totals(sim, 2.0)
        result = materialize_dates(defs, [PAGE_REPORT.table], day, day, instance=instance)
        assert not result.success
        receiver.status = 503
        outcome, cursor = tick(defs, "run_failed_alert_sensor", instance, None)
        assert "stopped" in outcome.skip_message
        assert cursor is None  # not delivered: the next tick tries again
        receiver.status = 200
        _, cursor = tick(defs, "run_failed_alert_sensor", instance, cursor)
        delivered = receiver.bodies[1:]
        assert len(delivered) == 1
        alert = delivered[0]["alert"]
        assert alert["run_id"] == result.run_id
        assert "not published (previous version kept)" in alert["summary"]
        assert alert["numbers"]["pages_sum_to_page_totals.mismatched_slices"] == 1
        assert alert["dates"] == [day.isoformat()]
        tick(defs, "run_failed_alert_sensor", instance, cursor)
        assert len(receiver.bodies) == 2
