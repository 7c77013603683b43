"""docs/tables.md: every warehouse table users query, each column with its type and meaning.

Generated from the tables and the Dagster column schema the UI shows (`columns.table_schema`),
so the page, the UI and the database agree; a test keeps the file equal to `tables_markdown()`.
Regenerate: `.venv/bin/python -m gsc_assets.defs.column_docs > docs/tables.md`.
"""

from __future__ import annotations

import sys
from collections.abc import Collection

import dagster as dg
import sqlalchemy as sa

from gsc_assets.defs.columns import table_schema
from gsc_assets.reports.catalogue import BUILTIN_REPORTS, DEFAULT_REPORT_NAMES
from gsc_assets.reports.custom import custom_table_name
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import AggregationType, Dimension
from gsc_assets.sync.hourly import HOURLY_WINDOW_DAYS
from gsc_assets.warehouse import inventory, quota_store, schema

MARKER = (
    "<!-- generated from gsc_assets/defs/column_docs.py (tables_markdown); "
    "a test keeps them equal -->"
)
REGENERATE = "`.venv/bin/python -m gsc_assets.defs.column_docs > docs/tables.md`"
# The example of a custom report's table: the first report of examples/reports.yaml.
CUSTOM_EXAMPLE = Report(
    "blog_by_country",
    custom_table_name("blog_by_country"),
    (Dimension.PAGE, Dimension.COUNTRY),
    AggregationType.BY_PAGE,
    "blog pages per country",
)
# What one row of each table that is not a report's is, and when it is written.
ROWS: dict[str, str] = {
    "gsc_page_lifetime": "One row per site, search type and page: its all-time totals, "
    "recomputed from `gsc_page_daily` for the pages a sync changed.",
    "gsc_sync_log": "One row per write of a slice (site, date, search type) of a report, in the "
    "same transaction as its rows; append-only, so a slice's current state is its latest row "
    "(see `id`).",
    "gsc_api_totals": "One row per site, date, search type and report: Google's own totals of "
    "the day, fetched with the report's rows and replaced with them; the checks reconcile the "
    "rows against them.",
    "gsc_sites": "One row per snapshot date and property: every property the credential sees "
    "and every configured one (daily, `gsc_inventory_schedule`).",
    "gsc_sitemaps": "One row per snapshot date, property and sitemap, as Search Console last "
    "processed it.",
    "gsc_sitemap_contents": "One row per snapshot date, property, sitemap and content type.",
    "gsc_url_inspection": "One row per site, page and inspection date (opt-in: "
    "`GSC_URL_INSPECTION=true`; see [inventory.md](inventory.md)).",
}
AUDIT = (schema.gsc_sync_log, schema.gsc_api_totals)
INVENTORY = (
    inventory.gsc_sites,
    inventory.gsc_sitemaps,
    inventory.gsc_sitemap_contents,
    inventory.gsc_url_inspection,
)
# Bookkeeping of the pipeline, not data: named so that readers know to leave them alone.
INTERNAL: dict[str, str] = {
    schema.gsc_lifetime_dirty.name: "pages whose `gsc_page_lifetime` row is due for "
    "recomputation (a work queue)",
    quota_store.admissions.name: "the shared quota store's sliding window of requests (in the "
    "quota database, by default the warehouse)",
    quota_store.quota_state.name: "the quota store's pauses and rate factors per bucket",
}


def report_table(report: Report) -> sa.Table:
    """The table of `report`, without registering it in the warehouse schema.

    A table in `schema.metadata` is created by the warehouse resource: documenting a report
    must not create tables for reports nobody configured.
    """
    existing = schema.metadata.tables.get(report.table)
    return existing if existing is not None else schema.table_for(report, into=sa.MetaData())


def documented_tables() -> list[sa.Table]:
    """Every table docs/tables.md describes, in the page's order."""
    reports = [report_table(r) for r in (*BUILTIN_REPORTS, CUSTOM_EXAMPLE)]
    return [*reports, schema.gsc_page_lifetime, *AUDIT, *INVENTORY]


def columns_markdown(table: sa.Table) -> str:
    """The `column | type | meaning` table of every column of `table`, in table order."""
    return schema_markdown(table_schema(table), key=table.primary_key.columns.keys())


def schema_markdown(columns: dg.TableSchema, key: Collection[str] = ()) -> str:
    """A Dagster column schema as a markdown table, the `key` columns marked."""
    rows = ["| column | type | meaning |", "|---|---|---|"]
    for column in columns.columns:
        name = f"`{column.name}`" + (" (key)" if column.name in key else "")
        nullable = column.constraints is not None and column.constraints.nullable
        kind = f"{column.type}, nullable" if nullable else column.type
        meaning = (column.description or "").replace("|", "\\|")  # a pipe would end the cell
        rows.append(f"| {name} | {kind} | {meaning} |")
    return "\n".join(rows)


def _section(table: sa.Table, row: str) -> str:
    return f"### {table.name}\n\n{row}\n\n{columns_markdown(table)}\n"


def _report_row(report: Report) -> str:
    chosen = "default" if report.name in DEFAULT_REPORT_NAMES else "opt-in via `GSC_REPORTS`"
    what = report.description[:1].upper() + report.description[1:]
    return f"{what}. Report `{report.name}`, {report.aggregation_type.value}, {chosen}."


def tables_markdown() -> str:
    """The whole of docs/tables.md."""
    builtin = [_section(report_table(r), _report_row(r)) for r in BUILTIN_REPORTS]
    custom = columns_markdown(report_table(CUSTOM_EXAMPLE))
    internal = "\n".join(f"- `{name}`: {text}." for name, text in INTERNAL.items())
    parts = [
        "# Warehouse tables\n",
        f"{MARKER}\n",
        f"Regenerate with {REGENERATE}.\n",
        "Every table the pipeline writes for you to query, every column in table order. "
        "Example queries: [README, Look at the data](../README.md#look-at-the-data).\n",
        "(key) marks the columns that identify a row, unique together (the natural key; the "
        "sync log's `id`). Types are PostgreSQL's: DOUBLE is double precision, TIMESTAMP is "
        "timestamp with time zone, in UTC; SQLite stores DATE and TIMESTAMP as ISO text, DOUBLE "
        "as REAL and BOOLEAN as 0/1.\n",
        "## Performance reports\n",
        f"Each Pacific-Time date (hourly tables: each of the last {HOURLY_WINDOW_DAYS} days) is "
        "replaced in one transaction for every site and search type. Columns: the slice "
        "(site_url, date, search_type), then each dimension, then the metrics.\n",
        *builtin,
        "### Custom report tables\n",
        "A report of `GSC_REPORTS_FILE` gets the table `gsc_<name>_daily`: one row per site, "
        "date, search type and combination of its dimensions, one TEXT column per dimension "
        "(`searchAppearance` is `search_appearance`) in the order listed. For example "
        f"`{CUSTOM_EXAMPLE.name}` of `examples/reports.yaml` (dimensions page, country):\n",
        f"{custom}\n",
        "## Lifetime\n",
        _section(schema.gsc_page_lifetime, ROWS[schema.gsc_page_lifetime.name]),
        "## Audit\n",
        *(_section(table, ROWS[table.name]) for table in AUDIT),
        "## Inventory and URL Inspection\n",
        *(_section(table, ROWS[table.name]) for table in INVENTORY),
        "## Internal tables\n",
        f"Not listed above, and not for querying:\n\n{internal}\n",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(tables_markdown())
