"""quality.retention_gaps: dates about to leave Search Console's 16-month window that were never
synced are reported (WARN) per site and search type, before they are lost; synced ones are not."""

from __future__ import annotations

import datetime as dt

from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.reconciliation import Severity
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.warehouse import quality
from gsc_assets.warehouse.writes import replace_partition

SITE = "https://www.example.com/"
FIRST = dt.date(2025, 7, 23)
LAST = FIRST + dt.timedelta(days=3)


def page_batch(date: dt.date) -> ReportData:
    row = (date.isoformat(), f"{SITE}a", 3.0, 30.0, 0.1, 2.5)
    return ReportData(day=DaySlice(SITE, date), report=PAGE_REPORT, rows=[row], requests=1)


def gaps(engine) -> quality.CheckOutcome:
    with engine.connect() as conn:
        return quality.retention_gaps(conn, [SITE], ["web"], first=FIRST, last=LAST)


def test_retention_gaps_names_every_unsynced_date_in_the_window(warehouse_engine):
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(FIRST + dt.timedelta(days=1))])

    outcome = gaps(warehouse_engine)

    assert not outcome.passed
    assert outcome.severity == Severity.WARN
    assert outcome.metadata["unsynced_slices"] == 3
    assert outcome.metadata["unsynced_dates"] == {
        f"{SITE} web": [
            FIRST.isoformat(),
            (FIRST + dt.timedelta(days=2)).isoformat(),
            LAST.isoformat(),
        ]
    }


def test_retention_gaps_pass_once_every_date_in_the_window_was_synced(warehouse_engine):
    day = FIRST
    while day <= LAST:
        replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(day)])
        day += dt.timedelta(days=1)

    outcome = gaps(warehouse_engine)

    assert outcome.passed
    assert outcome.metadata["unsynced_slices"] == 0
