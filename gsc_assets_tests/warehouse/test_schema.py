"""Contract of the schema: report tables derive from the report's dimensions (reports are data),
keyed by their natural key; metrics are doubles, position nullable; support tables as documented.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.reports.vocabulary import AggregationType, Dimension
from gsc_assets.warehouse.schema import (
    gsc_page_lifetime,
    gsc_page_query_daily,
    gsc_sync_log,
    metadata,
    table_for,
)


def test_table_for_core_reports_uses_natural_keys():
    assert [c.name for c in table_for(PAGE_QUERY_REPORT).primary_key] == [
        "site_url",
        "date",
        "search_type",
        "page",
        "query",
    ]
    assert [c.name for c in table_for(SITE_REPORT).primary_key] == [
        "site_url",
        "date",
        "search_type",
    ]
    assert table_for(PAGE_REPORT) is metadata.tables["gsc_page_daily"]
    assert table_for(PAGE_QUERY_REPORT) is gsc_page_query_daily


def test_table_for_builds_a_new_report_from_its_dimensions():
    report = Report(
        "country_device",
        "gsc_test_country_device_daily",
        (Dimension.COUNTRY, Dimension.DEVICE),
        AggregationType.BY_PROPERTY,
    )
    try:
        table = table_for(report)
        assert list(table.columns.keys()) == [
            "site_url",
            "date",
            "search_type",
            "country",
            "device",
            "clicks",
            "impressions",
            "ctr",
            "position",
        ]
        assert table_for(report) is table
    finally:
        metadata.remove(metadata.tables["gsc_test_country_device_daily"])


def test_table_for_rejects_reports_it_cannot_store():
    with pytest.raises(ValueError, match="no warehouse column"):
        table_for(Report("hourly", "gsc_test_hourly", (Dimension.HOUR,), AggregationType.AUTO))
    with pytest.raises(ValueError, match="other columns"):
        table_for(Report("clash", "gsc_page_daily", (Dimension.QUERY,), AggregationType.BY_PAGE))
    with pytest.raises(ValueError, match="names no table"):
        table_for(Report("totals", "", (), AggregationType.BY_PAGE))


def test_created_tables_have_double_metrics_and_nullable_position(warehouse_engine):
    columns = {
        c["name"]: c for c in sa.inspect(warehouse_engine).get_columns("gsc_page_query_daily")
    }

    for metric in ("clicks", "impressions", "ctr", "position"):
        assert isinstance(columns[metric]["type"], sa.Float)
        if warehouse_engine.dialect.name == "postgresql":
            assert columns[metric]["type"].__visit_name__ == "DOUBLE_PRECISION"
    assert columns["position"]["nullable"] is True
    assert columns["clicks"]["nullable"] is False
    assert isinstance(columns["page"]["type"], sa.Text)


def test_sync_log_is_indexed_by_its_lookup_key(warehouse_engine):
    indexes = sa.inspect(warehouse_engine).get_indexes(gsc_sync_log.name)

    assert ["site_url", "date", "search_type", "report"] in [i["column_names"] for i in indexes]


def test_lifetime_table_is_keyed_by_page():
    assert [c.name for c in gsc_page_lifetime.primary_key] == ["site_url", "search_type", "page"]
