"""Pool slots on the SQLite instance are claimed atomically.

Contract: when another process takes the last free slot between our read of it and our write,
our claim is BLOCKED (Dagster's SQLite storage would hand the same slot to both steps); the pool
never has more holders than slots; the shipped dagster.yaml uses this storage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from gsc_assets.defs.sqlite_slots import AtomicSlotSqliteEventLogStorage, SearchConsoleInstance
from gsc_assets_tests.e2e.processes import REPO_ROOT, open_instance

POOL = "gsc_api"


def claimed(storage) -> list[tuple[str, str]]:
    info = storage.get_concurrency_info(POOL)
    return sorted((slot.run_id, slot.step_key) for slot in info.claimed_slots)


def test_a_slot_taken_between_read_and_write_is_not_claimed_twice(tmp_path: Path):
    ours = AtomicSlotSqliteEventLogStorage(str(tmp_path / "runs"))
    other = AtomicSlotSqliteEventLogStorage(str(tmp_path / "runs"))  # another process's view
    ours.set_concurrency_slots(POOL, 1)
    raced: list[str] = []

    def take_the_slot_first(conn, cursor, statement, parameters, context, executemany):
        # Right after our SELECT of a free slot, another process claims that slot.
        if not raced and statement.lstrip().upper().startswith("SELECT CONCURRENCY_SLOTS.ID"):
            raced.append("racing")
            raced.append(other._claim_concurrency_slot(POOL, "run-b", "step-b").value)

    sa.event.listen(sa.engine.Engine, "after_cursor_execute", take_the_slot_first)
    try:
        status = ours._claim_concurrency_slot(POOL, "run-a", "step-a")
    finally:
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", take_the_slot_first)

    assert raced == ["racing", "CLAIMED"]
    assert status.value == "BLOCKED"
    assert claimed(ours) == [("run-b", "step-b")]


def test_claims_fill_the_pool_and_then_block(tmp_path: Path):
    storage = AtomicSlotSqliteEventLogStorage(str(tmp_path / "runs"))
    storage.set_concurrency_slots(POOL, 2)
    statuses = [
        storage.claim_concurrency_slot(POOL, f"run-{n}", "step").slot_status.value for n in range(3)
    ]
    assert statuses == ["CLAIMED", "CLAIMED", "BLOCKED"]
    storage.free_concurrency_slot_for_step("run-0", "step")
    assert storage.claim_concurrency_slot(POOL, "run-2", "step").slot_status.value == "CLAIMED"
    assert claimed(storage) == [("run-1", "step"), ("run-2", "step")]


def test_the_shipped_instance_uses_it_in_its_directory(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # Opened from its directory alone (no DAGSTER_HOME), as `dagster dev` opens a temporary home.
    with open_instance(home) as instance:
        storage = instance.event_log_storage
        assert isinstance(instance, SearchConsoleInstance)
        assert isinstance(storage, AtomicSlotSqliteEventLogStorage)
        assert Path(storage._base_dir) == home / "history" / "runs"
        assert (home / "history" / "runs.db").exists() and (home / "schedules").is_dir()
