"""Custom reports declared in YAML (GSC_REPORTS_FILE), validated before any asset exists.

A report is a value (`report.Report`); built-ins are in `catalogue.py`. Custom reports
come from a YAML file (GSC_REPORTS_FILE) and are checked against Google's rules before any
asset exists (docs/search_console_api.md "Known 400s"): searchAppearance must be the only grouping
dimension;
byProperty cannot group or filter by page; discover and googleNews cannot group or filter by
query; discover cannot group by device. Every problem is collected, each naming the report and
the fix, so one load shows them all.

File format (see examples/reports.yaml)::

    reports:
      - name: blog_by_country            # table gsc_blog_by_country_daily
        dimensions: [page, country]      # besides date; date is always the first key
        aggregation_type: byPage         # byPage or byProperty
        search_types: [web, image]       # optional: default every type Google allows
        filters:                         # optional, AND-ed
          - {dimension: page, operator: contains, expression: /blog/}
        description: blog pages per country
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from gsc_assets.reports.catalogue import BUILTIN_REPORTS, TOTALS_REPORTS
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import (
    FILTER_DIMENSIONS,
    AggregationType,
    Dimension,
    DimensionFilter,
    FilterOperator,
    SearchType,
)

# Lower case so the table name needs no quoting in PostgreSQL; short enough for its 63 bytes.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
ENTRY_FIELDS = frozenset(
    {"name", "dimensions", "aggregation_type", "search_types", "filters", "description"}
)
FILTER_FIELDS = frozenset({"dimension", "operator", "expression"})
CUSTOM_AGGREGATIONS = (AggregationType.BY_PAGE, AggregationType.BY_PROPERTY)
GROUPING_DIMENSIONS = tuple(d for d in Dimension if d not in (Dimension.DATE, Dimension.HOUR))


def custom_table_name(name: str) -> str:
    """The table of a custom report: `gsc_<name>_daily`."""
    return f"gsc_{name}_daily"


def load_custom_reports(
    path: str | Path, taken: Sequence[Report] = BUILTIN_REPORTS
) -> tuple[tuple[Report, ...], list[str]]:
    """Custom reports from a YAML file, and every problem found (nothing is built if any)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return (), [f"cannot read {str(path)!r}: {exc.strerror or exc}; fix the path"]
    return parse_custom_reports(text, str(path), taken)


def parse_custom_reports(
    text: str, source: str = "<reports>", taken: Sequence[Report] = BUILTIN_REPORTS
) -> tuple[tuple[Report, ...], list[str]]:
    """Parse YAML text into validated Reports; returns ((), problems) when anything is wrong.

    `taken` are the reports whose names and tables a custom report may not reuse.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return (), [f"{source}: not valid YAML ({exc}); fix the syntax"]
    entries = document.get("reports") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return (), [f"{source}: expected a top-level `reports:` list of report entries"]
    reports: list[Report] = []
    problems: list[str] = []
    names = {r.name: "a built-in report" for r in taken}
    names |= {r.name: "the reconciliation totals" for r in TOTALS_REPORTS}
    tables = {r.table: f"report {r.name!r}" for r in taken if r.table}
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: report #{index}"
        report, entry_problems = _parse_entry(entry, where)
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
            entry_problems += _collisions(name, names, tables, f"{where} {name!r}")
            names.setdefault(name, f"report #{index}")
            tables.setdefault(custom_table_name(name), f"report {name!r}")
        problems += entry_problems
        if report is not None and not entry_problems:
            reports.append(report)
    return (tuple(reports), problems) if not problems else ((), problems)


def _collisions(
    name: str, names: Mapping[str, str], tables: Mapping[str, str], where: str
) -> list[str]:
    table = custom_table_name(name)
    if name in names:
        return [f"{where}: the name is already used by {names[name]}; rename it"]
    if table in tables:
        return [f"{where}: table {table!r} already belongs to {tables[table]}; rename it"]
    return []


def _parse_entry(entry: Any, where: str) -> tuple[Report | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{where}: expected a mapping with name, dimensions, aggregation_type"]
    problems: list[str] = []
    name = entry.get("name")
    valid_name = isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None
    if not valid_name:
        problems.append(
            f"{where}: name {name!r} is not a safe identifier; use 1-40 lower-case letters, "
            "digits and underscores, starting with a letter (e.g. blog_by_country)"
        )
    else:
        where = f"{where} {name!r}"
    unknown = sorted(set(entry) - ENTRY_FIELDS)
    if unknown:
        problems.append(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(ENTRY_FIELDS))}"
        )
    dimensions = _dimensions(entry.get("dimensions"), where, problems)
    aggregation = _aggregation(entry.get("aggregation_type"), where, problems)
    declared_types = _search_types(entry.get("search_types"), where, problems)
    filters = _filters(entry.get("filters"), where, problems)
    description = entry.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{where}: description must be text")
        description = ""
    if dimensions is None or aggregation is None or filters is None:
        return None, problems
    label = str(name)
    report = Report(
        name=label,
        table=custom_table_name(label),
        dimensions=dimensions,
        aggregation_type=aggregation,
        description=description or f"custom report {label}",
        dimension_filters=filters,
        search_types=declared_types or tuple(SearchType),
    )
    problems += _google_rules(report, declared_types, where)
    return (report if valid_name else None), problems


def _google_rules(report: Report, declared: tuple[SearchType, ...] | None, where: str) -> list[str]:
    """Google's 400s for each declared search type (web alone for the type-independent rules)."""
    checked = declared or (SearchType.WEB,)
    found = dict.fromkeys(p for t in checked for p in report.problems_for(t))
    prefix = f"report {report.name!r}"
    return [f"{where}: {p.removeprefix(prefix).lstrip(': ').strip()}" for p in found]


def _dimensions(raw: Any, where: str, problems: list[str]) -> tuple[Dimension, ...] | None:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(f"{where}: dimensions must be a list, e.g. [page, country]")
        return None
    dimensions: list[Dimension] = []
    allowed = ", ".join(d.value for d in GROUPING_DIMENSIONS)
    for value in raw:
        try:
            dimension = Dimension.parse(str(value))
        except ValueError:
            problems.append(f"{where}: unknown dimension {value!r}; use {allowed}")
            return None
        if dimension not in GROUPING_DIMENSIONS:
            problems.append(
                f"{where}: {dimension.value} is implied (every custom report is daily, keyed by "
                f"date); list only {allowed}"
            )
            return None
        if dimension in dimensions:
            problems.append(f"{where}: dimension {dimension.value} is listed twice; list it once")
            return None
        dimensions.append(dimension)
    return tuple(dimensions)


def _aggregation(raw: Any, where: str, problems: list[str]) -> AggregationType | None:
    choices = " or ".join(a.value for a in CUSTOM_AGGREGATIONS)
    try:
        aggregation = AggregationType.parse(str(raw)) if raw is not None else None
    except ValueError:
        aggregation = None
    if aggregation not in CUSTOM_AGGREGATIONS:
        problems.append(
            f"{where}: aggregation_type {raw!r} is not {choices}; byPage counts each URL, "
            "byProperty the whole property (required, it decides how the report reconciles)"
        )
        return None
    return aggregation


def _search_types(raw: Any, where: str, problems: list[str]) -> tuple[SearchType, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: search_types must be a non-empty list, e.g. [web, image]")
        return None
    types: list[SearchType] = []
    for value in raw:
        try:
            types.append(SearchType.parse(str(value)))
        except ValueError:
            allowed = ", ".join(t.value for t in SearchType)
            problems.append(f"{where}: unknown search type {value!r}; use {allowed}")
    return tuple(dict.fromkeys(types)) or None


def _filters(raw: Any, where: str, problems: list[str]) -> tuple[DimensionFilter, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{where}: filters must be a list of {{dimension, operator, expression}}")
        return None
    filters: list[DimensionFilter] = []
    for index, item in enumerate(raw, start=1):
        parsed = _filter(item, f"{where} filter #{index}", problems)
        if parsed is None:
            return None
        filters.append(parsed)
    return tuple(filters)


def _filter(item: Any, where: str, problems: list[str]) -> DimensionFilter | None:
    if not isinstance(item, dict) or set(item) - FILTER_FIELDS:
        problems.append(f"{where}: expected exactly {{dimension, operator, expression}}")
        return None
    dims = ", ".join(d.value for d in FILTER_DIMENSIONS)
    operators = ", ".join(o.value for o in FilterOperator)
    try:
        dimension = Dimension.parse(str(item.get("dimension")))
    except ValueError:
        dimension = None
    if dimension not in FILTER_DIMENSIONS:
        problems.append(f"{where}: cannot filter by {item.get('dimension')!r}; use {dims}")
        return None
    try:
        operator = FilterOperator.parse(str(item.get("operator", "equals")))
    except ValueError:
        problems.append(f"{where}: unknown operator {item.get('operator')!r}; use {operators}")
        return None
    expression = item.get("expression")
    if not isinstance(expression, str) or not expression:
        problems.append(f"{where}: expression must be non-empty text")
        return None
    if operator.value.endswith("Regex"):
        try:
            re.compile(expression)
        except re.error as exc:
            problems.append(f"{where}: {expression!r} is not a regular expression ({exc})")
            return None
    return DimensionFilter(dimension, operator, expression)
