"""The layers hold: only the Dagster layer imports dagster; the simulator shares no code with the
client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gsc_assets"

FORBIDDEN = {
    "search_console": (
        "dagster",
        "sqlalchemy",
        "gsc_assets.warehouse",
        "gsc_assets.defs",
        "pandas",
    ),
    "warehouse": ("dagster", "requests", "gsc_assets.defs", "gsc_assets.simulator"),
    "simulator": ("dagster", "sqlalchemy", "gsc_assets.search_console", "gsc_assets.warehouse"),
    # The ground floor: what Google offers, read by both sides, so it imports neither.
    "reports": (
        "dagster",
        "sqlalchemy",
        "requests",
        "gsc_assets.search_console",
        "gsc_assets.warehouse",
        "gsc_assets.simulator",
        "gsc_assets.defs",
    ),
}
# The one thing the simulator shares with the client: the table of what Google accepts, so a
# request the client would never send is one the simulator refuses.
SIMULATOR_SHARED = {"gsc_assets.reports.capabilities"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_what_it_must_not_know(layer):
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            for forbidden in FORBIDDEN[layer]:
                if module == forbidden or module.startswith(forbidden + "."):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_only_the_dagster_layer_and_entry_points_import_dagster():
    allowed = {"defs", "definitions.py", "demo.py"}
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in allowed
        and any(m == "dagster" or m.startswith("dagster.") for m in imported_modules(path))
    ]
    assert offenders == []


def test_the_simulator_shares_only_the_capability_table_with_the_client():
    shared = {
        module
        for path in (PACKAGE / "simulator").rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("gsc_assets.") and not module.startswith("gsc_assets.simulator")
    }
    assert shared <= SIMULATOR_SHARED


MAX_MODULE_LINES = 300


def test_no_module_is_over_300_lines():
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_every_defs_module_uses_dagster():
    """defs/ is the thin Dagster layer: plain Python belongs in the layers below it."""
    plain = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / "defs").glob("*.py"))
        if path.name != "__init__.py"
        and not any(m == "dagster" or m.startswith("dagster.") for m in imported_modules(path))
    ]
    assert plain == []


def test_the_warehouse_knows_the_reports_not_the_http_client():
    """The warehouse stores what `reports` describes; from search_console it only implements the
    quota log's store protocol."""
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / "warehouse").rglob("*.py"))
        for module in imported_modules(path)
        if module.startswith("gsc_assets.search_console")
        and module != "gsc_assets.search_console.quota_log"
    ]
    assert offenders == []
