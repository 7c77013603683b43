"""Settings.from_env: documented defaults, valid values parsed, every bad value named with its
fix."""

from __future__ import annotations

import datetime as dt

import pytest

from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.vocabulary import DataState, SearchType
from gsc_assets.settings import (
    VARIABLES,
    Settings,
    SettingsError,
    default_start_date,
    oldest_retained_date,
    site_url_problem,
)


def test_settings_defaults_match_the_documentation():
    settings = Settings.from_env({})
    assert settings.sites == ()
    assert settings.search_types == (SearchType.WEB,)
    assert settings.data_state is DataState.ALL
    assert settings.api_base_url == "https://searchconsole.googleapis.com"
    assert settings.database_url == "sqlite:///gsc_warehouse.sqlite"
    assert settings.qpm_budget == 960
    assert settings.quota_store == "database"
    assert settings.max_concurrency == 8
    assert settings.backfill_max_partitions_per_run is None
    assert settings.start_date == default_start_date(today_pacific())


def test_settings_parse_valid_values():
    settings = Settings.from_env(
        {
            "GSC_SITES": "https://www.example.com/, sc-domain:example.org,https://www.example.com/",
            "GSC_SEARCH_TYPES": "web,IMAGE,GOOGLE_NEWS",
            "GSC_DATA_STATE": "final",
            "GSC_QPM_BUDGET": "60",
            "GSC_MAX_CONCURRENCY": "1",
            "GSC_BACKFILL_POLICY": "multi_run:3",
            "GSC_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1/test",
        }
    )
    assert settings.sites == ("https://www.example.com/", "sc-domain:example.org")
    assert settings.search_types == (SearchType.WEB, SearchType.IMAGE, SearchType.GOOGLE_NEWS)
    assert settings.data_state is DataState.FINAL
    assert settings.last_partition_offset_days == 3
    assert settings.qpm_budget == 60
    assert settings.backfill_max_partitions_per_run == 3


def test_settings_report_every_problem_at_once_with_the_variable_and_fix():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "GSC_SITES": "https://www.example.com",
                "GSC_SEARCH_TYPES": "web,shopping",
                "GSC_QPM_BUDGET": "0",
                "GSC_MAX_CONCURRENCY": "many",
                "GSC_START_DATE": "2001-01-01",
                "GSC_DATABASE_URL": "mysql://x",
                "GSC_BACKFILL_POLICY": "sometimes",
                "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
            }
        )
    message = str(caught.value)
    assert "GSC_SITES" in message and "trailing slash" in message
    assert "GSC_SEARCH_TYPES" in message and "shopping" in message
    assert "GSC_QPM_BUDGET: 0 is out of range; use 1..1200" in message
    assert "GSC_MAX_CONCURRENCY: 'many' is not a whole number" in message
    assert "GSC_START_DATE" in message and "16-month retention" in message
    assert "GSC_DATABASE_URL" in message
    assert "GSC_BACKFILL_POLICY" in message
    assert "GOOGLE_APPLICATION_CREDENTIALS: no file at '/nonexistent/key.json'" in message
    assert message.count("\n- ") == 8


def test_settings_never_show_the_access_token():
    settings = Settings.from_env({"GSC_ACCESS_TOKEN": "ya29.secret-token-value"})
    assert settings.access_token == "ya29.secret-token-value"
    assert "secret-token-value" not in repr(settings)


def test_settings_missing_for_sync_names_sites_and_credentials():
    missing = Settings.from_env({}).missing_for_sync()
    assert any("GSC_SITES" in m for m in missing)
    assert any("GOOGLE_APPLICATION_CREDENTIALS" in m for m in missing)
    ready = Settings.from_env({"GSC_SITES": "sc-domain:example.org", "GSC_ACCESS_TOKEN": "t"})
    assert ready.missing_for_sync() == []


@pytest.mark.parametrize(
    ("site", "ok"),
    [
        ("https://www.example.com/", True),
        ("http://example.com/blog/", True),
        ("sc-domain:example.com", True),
        ("https://www.example.com", False),
        ("ftp://example.com/", False),
        ("example.com", False),
        ("sc-domain:https://example.com", False),
    ],
)
def test_site_url_problem_accepts_only_registered_property_forms(site, ok):
    assert (site_url_problem(site) is None) is ok


def test_retention_dates_are_sixteen_months_back():
    today = dt.date(2026, 11, 23)
    assert oldest_retained_date(today) == dt.date(2025, 7, 23)
    assert default_start_date(today) == dt.date(2025, 8, 1)
    assert oldest_retained_date(dt.date(2026, 6, 30)) == dt.date(2025, 2, 28)


def test_every_variable_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in VARIABLES:
        assert f"`{name}`" in readme, f"{name} missing from the README's configuration table"


def test_the_readme_variable_table_is_the_one_generated_from_the_component_model():
    from pathlib import Path

    from gsc_assets.config import variables_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    marker = (
        "<!-- generated from gsc_assets/config.py (variables_table); a test keeps them equal -->\n"
    )
    assert marker in readme
    table = readme.split(marker, 1)[1].split("\n\n", 1)[0].strip()
    assert table == variables_table()


def test_every_component_field_defaults_to_what_settings_default_to():
    from gsc_assets.config import SearchConsoleConfig, to_environ

    environ, custom = to_environ(SearchConsoleConfig(), lambda _field, value: value)
    assert Settings.from_env(environ, custom_reports=custom) == Settings.from_env({})
