"""SQLite event-log storage whose pool slots are claimed atomically (used by dagster.yaml).

Dagster's SQL event log claims a pool slot in two statements: read the id of a free slot, then
write the step into that id. On Postgres the read locks the row (FOR UPDATE SKIP LOCKED); SQLite
has no row locks and ignores the clause, so two processes that read the same free slot both
"claim" it, and a pool of 2 ran 3 sync steps at once (gsc_assets_tests/e2e/test_pool_cap.py saw it).
Here the write takes the slot only while it is still free: a compare-and-set that SQLite's single
writer makes atomic. The loser is told BLOCKED and claims again on Dagster's next poll, exactly as
for a full pool. Everything else is Dagster's SqliteEventLogStorage unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from dagster._utils.concurrency import ConcurrencySlotStatus


class AtomicSlotSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with a race-free pool slot claim (module docstring)."""

    def _claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str
    ) -> ConcurrencySlotStatus:
        slots = ConcurrencySlotsTable.c
        free = sa.and_(
            slots.concurrency_key == concurrency_key,
            slots.step_key.is_(None),
            slots.deleted.is_(False),
        )
        with self.index_connection() as conn:
            row = conn.execute(sa.select(slots.id).where(free).limit(1)).fetchone()
            if row is None:
                return ConcurrencySlotStatus.BLOCKED
            taken = conn.execute(
                ConcurrencySlotsTable.update()
                .values(run_id=run_id, step_key=step_key)
                .where(sa.and_(slots.id == row[0], free))
            ).rowcount
            return ConcurrencySlotStatus.CLAIMED if taken else ConcurrencySlotStatus.BLOCKED


class AtomicSlotSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event log, schedules under one base_dir) with the event log
    above; the layout on disk is Dagster's own."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = AtomicSlotSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> AtomicSlotSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class SearchConsoleInstance(dg.DagsterInstance):
    """The instance dagster.yaml names (`instance_class`): Dagster's own, whose default storage is
    AtomicSlotSqliteStorage in the instance directory. Dagster asks the instance class for its
    defaults with that directory, which an entry in dagster.yaml cannot name (it may be a
    temporary home, as under `dagster dev` without DAGSTER_HOME). An explicit `storage` (the
    Postgres instance file) replaces the default as usual."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            __name__, AtomicSlotSqliteStorage.__name__, yaml.dump({"base_dir": base_dir})
        )
        return defaults
