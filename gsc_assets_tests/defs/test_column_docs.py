"""docs/tables.md is generated from the tables, and every column of every table has words."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa

import gsc_assets.warehouse
from gsc_assets.defs.column_docs import (
    CUSTOM_EXAMPLE,
    INTERNAL,
    MARKER,
    REGENERATE,
    documented_tables,
    tables_markdown,
)
from gsc_assets.defs.columns import COLUMN_DESCRIPTIONS, sql_type, table_schema
from gsc_assets.warehouse.schema import DIMENSION_COLUMNS, metadata

TABLES_MD = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_docs_tables_md_is_the_generated_text():
    text = TABLES_MD.read_text()
    assert MARKER in text
    assert text == tables_markdown(), f"docs/tables.md is stale: regenerate it with {REGENERATE}"


@pytest.mark.parametrize("table", documented_tables(), ids=lambda table: table.name)
def test_every_column_has_a_type_and_a_meaning(table):
    missing = [column.name for column in table_schema(table).columns if not column.description]
    assert missing == [], (
        f"{table.name}: columns without a description: {missing}; add one sentence each in "
        "gsc_assets/defs/columns.py, then regenerate docs/tables.md"
    )
    assert all(sql_type(column) for column in table.columns)


def test_every_dimension_a_custom_report_may_have_has_a_meaning():
    assert [name for name in DIMENSION_COLUMNS.values() if not COLUMN_DESCRIPTIONS.get(name)] == []


def _module_tables() -> dict[str, sa.Table]:
    """Every table defined at module level in the warehouse package."""
    tables = {}
    package = gsc_assets.warehouse
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        tables |= {v.name: v for v in vars(module).values() if isinstance(v, sa.Table)}
    return tables


def test_every_table_the_pipeline_creates_is_documented_or_named_internal():
    documented = {table.name for table in documented_tables()}
    undocumented = set(_module_tables()) - documented - set(INTERNAL)
    assert undocumented == set(), f"add to gsc_assets/defs/column_docs.py: {sorted(undocumented)}"
    text = tables_markdown()
    headed = {table.name for table in documented_tables() if f"### {table.name}\n" in text}
    assert documented - headed == {CUSTOM_EXAMPLE.table}


def test_documenting_a_report_registers_no_table_the_warehouse_would_create():
    before = set(metadata.tables)
    documented_tables()
    tables_markdown()
    assert set(metadata.tables) == before
