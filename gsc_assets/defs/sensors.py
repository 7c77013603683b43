"""Alert sensors (open-source Dagster has no built-in check alerts; DAGSTER_NOTES.md).

- `check_failed_alert_sensor` reads failed asset-check evaluations from the instance's event log;
  its cursor holds, per check, the id of the newest evaluation already alerted.
- `run_failed_alert_sensor` reads RUN_FAILURE events of every run — UI, schedule, backfill and
  `dagster asset materialize` runs alike (a `@run_failure_sensor` misses CLI runs); its cursor is
  the event-log cursor after the last failure alerted.
Each alert advances the cursor only once delivered, so a failure is alerted once, and a webhook
outage delays alerts instead of losing them.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._core.event_api import EventLogCursor
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from gsc_assets.alerts import Alert, AlertDeliveryError, numbers_from, send_alert
from gsc_assets.defs.assets import SITE_TAG
from gsc_assets.defs.schedules import RANGE_END_TAG, RANGE_START_TAG
from gsc_assets.defs.scope import Scope
from gsc_assets.settings import Settings

MAX_ALERTS_PER_TICK = 25
PARTITION_TAG = "dagster/partition"
SENSOR_INTERVAL_SECONDS = 60


def check_alert(record: AssetCheckExecutionRecord) -> Alert:
    """The alert for one failed check evaluation: check, asset, verdict, dates, sites, numbers."""
    evaluation = record.evaluation
    key = record.key
    if evaluation is None:  # pragma: no cover - FAILED records always carry their evaluation
        return Alert(
            f"Check {key.name} on {key.asset_key.to_user_string()} failed", "", record.run_id
        )
    metadata = evaluation.metadata
    severity = evaluation.severity.value
    return Alert(
        title=f"{severity}: check {key.name} failed on {key.asset_key.to_user_string()}",
        summary=evaluation.description or "",
        run_id=record.run_id,
        sites=tuple(sorted(_sites_in(metadata))),
        dates=tuple(_json_value(metadata.get("partition_dates")) or ()),
        numbers=numbers_from(metadata),
    )


def _json_value(value: Any) -> Any:
    return getattr(value, "value", value) if value is not None else None


def _sites_in(metadata: Mapping[str, Any]) -> set[str]:
    """Sites named anywhere in a check's metadata examples (lists of dicts with a "site")."""
    sites: set[str] = set()
    for value in metadata.values():
        raw = _json_value(value)
        items = raw if isinstance(raw, list) else []
        sites.update(item["site"] for item in items if isinstance(item, dict) and "site" in item)
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            sites.update(item for item in raw if "://" in item or item.startswith("sc-domain:"))
    return sites


def new_failures(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, after_id: int
) -> list[AssetCheckExecutionRecord]:
    """Failed evaluations of `key` newer than `after_id`, oldest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=MAX_ALERTS_PER_TICK, status={AssetCheckExecutionRecordStatus.FAILED}
    )
    return sorted((r for r in records if r.id > after_id), key=lambda r: r.id)


def build_check_failed_alert_sensor(
    check_keys: Sequence[dg.AssetCheckKey], scope: Scope
) -> dg.SensorDefinition:
    """A sensor alerting once per failed evaluation of any of `check_keys` (ERROR or WARN)."""
    settings = scope.settings

    @dg.sensor(
        name=scope.name("check_failed_alert_sensor"),
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts (log line, and GSC_ALERT_WEBHOOK_URL when set) once per failed "
        "asset-check evaluation.",
    )
    def check_failed_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        cursor: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        sent = 0
        for key in check_keys:
            name = key.to_user_string()
            for record in new_failures(context.instance, key, cursor.get(name, 0)):
                try:
                    _deliver(check_alert(record), settings)
                except AlertDeliveryError as error:
                    return dg.SkipReason(f"{sent} alerts sent; stopped: {error}")
                cursor[name] = record.id
                context.update_cursor(json.dumps(cursor, sort_keys=True))
                sent += 1
        return dg.SkipReason(f"{sent} alerts sent")

    return check_failed_alert_sensor


def run_alert(instance: dg.DagsterInstance, run_id: str) -> Alert:
    """The alert for one failed run: job, error message, sites and dates from its tags, and the
    numbers attached to the failure (an audit's comparison)."""
    run = instance.get_run_by_id(run_id)
    tags = run.tags if run else {}
    message, numbers = "the run failed", {}
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = event.dagster_event.step_failure_data if event.dagster_event else None
        if data is None:
            continue
        message = (data.error.message.strip() if data.error else "") or message
        if data.user_failure_data is not None:
            numbers = numbers_from(data.user_failure_data.metadata)
        break
    site = tags.get(SITE_TAG)
    dates = [tags[t] for t in (PARTITION_TAG, RANGE_START_TAG, RANGE_END_TAG) if t in tags]
    return Alert(
        title=f"Run of {run.job_name if run else 'unknown job'} failed",
        summary=message,
        run_id=run_id,
        sites=(site,) if site else (),
        dates=tuple(dict.fromkeys(dates)),
        numbers=numbers,
    )


def build_run_failed_alert_sensor(
    scope: Scope, asset_keys: Sequence[dg.AssetKey]
) -> dg.SensorDefinition:
    """A sensor alerting once per failed run, whatever launched it; with a key prefix (one
    instance of several), only runs that materialized this instance's assets."""
    settings = scope.settings
    own = set(asset_keys)

    @dg.sensor(
        name=scope.name("run_failed_alert_sensor"),
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts (log line, and GSC_ALERT_WEBHOOK_URL when set) once per failed run.",
    )
    def run_failed_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        result = context.instance.fetch_run_status_changes(
            dg.DagsterEventType.RUN_FAILURE,
            limit=MAX_ALERTS_PER_TICK,
            cursor=context.cursor,
            ascending=True,
        )
        sent = 0
        for record in result.records:
            run_id = record.event_log_entry.run_id
            try:
                if not scope.key_prefix or _touches(context.instance, run_id, own):
                    _deliver(run_alert(context.instance, run_id), settings)
            except AlertDeliveryError as error:
                return dg.SkipReason(f"{sent} alerts sent; stopped: {error}")
            context.update_cursor(_record_cursor(record))
            sent += 1
        return dg.SkipReason(f"{sent} alerts sent")

    return run_failed_alert_sensor


def _touches(instance: dg.DagsterInstance, run_id: str, keys: set[dg.AssetKey]) -> bool:
    """Whether the run selected any of `keys`."""
    run = instance.get_run_by_id(run_id)
    return bool(run and run.asset_selection and run.asset_selection & keys)


def _record_cursor(record: dg.EventLogRecord) -> str:
    """The event-log cursor just after `record` (the format fetch_run_status_changes reads)."""
    return EventLogCursor.from_storage_id(record.storage_id).to_string()


def _deliver(alert: Alert, settings: Settings) -> None:
    send_alert(alert, webhook_url=settings.alert_webhook_url, webserver_url=settings.webserver_url)


def build_alert_sensors(
    checks: Sequence[dg.AssetChecksDefinition], scope: Scope, asset_keys: Sequence[dg.AssetKey]
) -> list[dg.SensorDefinition]:
    """Both alert sensors, watching every check in `checks` and runs of `asset_keys`."""
    keys = [key for check in checks for key in check.check_keys]
    return [
        build_check_failed_alert_sensor(keys, scope),
        build_run_failed_alert_sensor(scope, asset_keys),
    ]
