"""Contract of the DataFrame readers: tables and partitions come back as pandas DataFrames,
filtered by equality, with every column even when empty; unknown names fail clearly.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gsc_assets.reports.catalogue import PAGE_REPORT
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.frames import read_table
from gsc_assets.warehouse.writes import replace_partition

SITE = "https://www.example.com/"
DAY = dt.date(2024, 1, 3)


def write_pages(engine, day=DAY, search_type=SearchType.WEB, site=SITE):
    rows = [(day.isoformat(), page, 1.0, 4.0, 0.25, 2.0) for page in ("/a", "/b")]
    replace_partition(
        engine, PAGE_REPORT, [ReportData(DaySlice(site, day, search_type), PAGE_REPORT, rows)]
    )


def test_read_table_returns_filtered_rows_as_a_dataframe(warehouse_engine):
    write_pages(warehouse_engine)
    write_pages(warehouse_engine, day=DAY + dt.timedelta(1))

    frame = read_table(warehouse_engine, "gsc_page_daily", date=DAY, page="/b")

    assert isinstance(frame, pd.DataFrame)
    assert frame.to_dict("records") == [
        {
            "site_url": SITE,
            "date": DAY,
            "search_type": "web",
            "page": "/b",
            "clicks": 1.0,
            "impressions": 4.0,
            "ctr": 0.25,
            "position": 2.0,
        }
    ]


def test_read_table_of_an_empty_table_keeps_its_columns(warehouse_engine):
    frame = read_table(warehouse_engine, "gsc_page_lifetime")

    assert frame.empty
    assert "days_with_impressions" in frame.columns


def test_read_table_rejects_unknown_names(warehouse_engine):
    with pytest.raises(KeyError, match="no warehouse table"):
        read_table(warehouse_engine, "gsc_nope")
    with pytest.raises(ValueError, match="no column"):
        read_table(warehouse_engine, "gsc_page_daily", color="red")
