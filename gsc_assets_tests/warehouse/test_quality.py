"""Checks read only the dates they judge: their cost does not grow with the warehouse's history.

Contract, on SQLite and PostgreSQL: every statement the date-scoped checks and the write audit
run against a daily table can be answered through the table's natural key (SQLite: a SEARCH on
its primary key; PostgreSQL: an index condition on site_url, with sequential scans discouraged),
never by reading every row (or index entry) of every date. Asserted on the query plans, so it
holds whatever the machine's speed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT
from gsc_assets.warehouse import quality
from gsc_assets.warehouse.schema import gsc_sync_log, table_for

DAY = dt.date(2026, 10, 1)
SITE = "https://www.example.com/"


def statements_run(engine: sa.Engine, action) -> list[tuple[str, object]]:
    """(SQL, parameters) of every statement `action(conn)` executes."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", record)
        action(conn)
        sa.event.remove(conn, "before_cursor_execute", record)
    return seen


def full_scans_of(engine: sa.Engine, table: str, statements) -> list[str]:
    """Each statement naming `table` whose plan reads all of it (a scan of the table or of a
    whole index, rather than a search on the key), as its plan text."""
    scans = []
    with engine.connect() as conn:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")  # an index, wherever one can serve
        for statement, parameters in statements:
            if table not in statement:
                continue
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = "\n".join(
                str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters)
            )
            if postgres:
                # A btree condition on a later key column alone still walks the whole index.
                searched = [line for line in plan.splitlines() if "Index Cond" in line]
                reads_all = f"Seq Scan on {table}" in plan or not any(
                    "site_url" in line for line in searched
                )
            else:
                reads_all = f"SCAN {table}" in plan
            if reads_all:
                scans.append(plan)
    return scans


def test_date_scoped_checks_and_the_write_audit_read_only_the_dates_rows(warehouse_engine):
    with warehouse_engine.begin() as conn:  # one synced site, so the checks know whom to read
        conn.execute(
            gsc_sync_log.insert().values(
                site_url=SITE, date=DAY, search_type="web", report=PAGE_REPORT.name,
                status="synced", rows_fetched=0, rows_stored=0, is_final=True, requests=1,
                retries=0, throttled=0, pages=1, data_state="final", truncated=False,
                synced_at=dt.datetime(2026, 10, 5),
            )
        )  # fmt: skip
    for report in (PAGE_REPORT, PAGE_QUERY_REPORT):
        table = table_for(report)

        def run_checks(conn, report=report, table=table):
            quality.rows_match_sync_log(conn, report, [DAY])
            quality.rows_reconcile_with_totals(conn, report, [DAY])
            quality.has_no_duplicate_keys(conn, table, [DAY])
            quality.is_complete(conn, report, [DAY], require_rows=False)
            quality.audit_written_date(conn, report, DAY)
            if report is PAGE_REPORT:
                quality.has_no_url_variants(conn, [DAY])

        statements = statements_run(warehouse_engine, run_checks)
        assert any(table.name in sql for sql, _ in statements), report.name
        assert full_scans_of(warehouse_engine, table.name, statements) == [], report.name
