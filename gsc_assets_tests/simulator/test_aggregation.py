"""Contract (docs/search_console_api.md "Data limits and semantics"): page rows sum exactly to the
byPage totals;
query rows sum to less (anonymized queries); property totals are smaller with a better position;
rows come by clicks descending (date alone: chronologically), capped at 50,000 per day; filters
follow Google's operators; invalid combinations are 400s in Google's words."""

import datetime as dt

import pytest

from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.simulator.request import BadRequestError, parse_query
from gsc_assets.simulator.service import SearchAnalytics

TODAY = dt.date(2025, 6, 15)
DAY = "2025-06-03"
BIG, SMALL = (spec.site_url for spec in DEFAULT_SITES)


@pytest.fixture(scope="module")
def service() -> SearchAnalytics:
    return SearchAnalytics(0, DEFAULT_SITES)


def rows(service, site=SMALL, start=DAY, end=None, **body):
    spec = parse_query({"startDate": start, "endDate": end or start, **body})
    return service.result(site, spec, TODAY).rows


def sums(found, n_keys):
    return sum(r[n_keys] for r in found), sum(r[n_keys + 1] for r in found)


def test_page_rows_sum_exactly_to_the_by_page_totals(service):
    pages = rows(service, BIG, dimensions=["date", "page"])
    (total,) = rows(service, BIG, dimensions=["date"], aggregationType="byPage")
    assert sums(pages, 2) == (total[1], total[2])


def test_query_rows_sum_to_less_than_page_totals(service):
    queries = rows(service, dimensions=["date", "query"], aggregationType="byPage")
    (total,) = rows(service, dimensions=["date"], aggregationType="byPage")
    clicks, impressions = sums(queries, 2)
    assert clicks < total[1] and impressions < total[2]


def test_property_totals_have_fewer_impressions_and_a_better_position(service):
    (prop,) = rows(service, dimensions=["date"])
    (page,) = rows(service, dimensions=["date"], aggregationType="byPage")
    assert 0.5 < prop[2] / page[2] < 0.7
    assert prop[4] < page[4]
    assert prop[3] > page[3]  # better CTR


def test_page_query_day_is_capped_at_fifty_thousand_rows_sorted_by_clicks(service):
    found = rows(service, BIG, dimensions=["date", "page", "query"])
    assert len(found) == 50_000
    clicks = [r[3] for r in found]
    assert clicks == sorted(clicks, reverse=True)


def test_date_only_grouping_is_chronological_and_skips_days_without_data(service):
    found = rows(service, start="2025-06-10", end="2025-06-20", dimensions=["date"])
    assert [r[0] for r in found] == ["2025-06-10", "2025-06-11", "2025-06-12"]


def test_a_range_without_the_date_dimension_sums_its_days(service):
    week = rows(service, start="2025-06-01", end="2025-06-03", dimensions=["page"])
    daily = [rows(service, start=f"2025-06-0{d}", dimensions=["page"]) for d in (1, 2, 3)]
    assert sums(week, 1) == tuple(map(sum, zip(*(sums(day, 1) for day in daily), strict=True)))


def test_no_dimensions_gives_one_totals_row_without_keys(service):
    (row,) = rows(service)
    assert len(row) == 4 and row[1] > 0


def test_contains_and_not_contains_filters_partition_the_totals(service):
    def total(operator):
        flt = [{"filters": [{"dimension": "page", "operator": operator, "expression": "BLOG."}]}]
        (row,) = rows(service, dimensionFilterGroups=flt)
        return row

    hit, miss = total("contains"), total("notContains")
    (everything,) = rows(service, aggregationType="byPage")
    assert hit[0] + miss[0] == everything[0] and hit[1] + miss[1] == everything[1]


def test_filters_apply_google_case_rules_and_regexes(service):
    def pages(operator, expression):
        flt = [{"filters": [{"dimension": "page", "operator": operator, "expression": expression}]}]
        return {r[0] for r in rows(service, dimensions=["page"], dimensionFilterGroups=flt)}

    assert pages("equals", "https://example.org/") == {"https://example.org/"}
    assert pages("equals", "HTTPS://EXAMPLE.ORG/") == set()
    assert pages("includingRegex", r"^https://blog\.") == {
        p for p in pages("contains", "blog.example.org") if p.startswith("https://blog.")
    }
    assert all("utm_source" not in p for p in pages("excludingRegex", "utm_source"))


def test_query_filters_exclude_anonymized_queries(service):
    flt = [{"filters": [{"dimension": "query", "operator": "notContains", "expression": "zzz"}]}]
    (filtered,) = rows(service, aggregationType="byPage", dimensionFilterGroups=flt)
    (everything,) = rows(service, aggregationType="byPage")
    assert filtered[1] < everything[1]


def test_keys_use_google_spellings(service):
    countries = {r[0] for r in rows(service, dimensions=["country"])}
    devices = {r[0] for r in rows(service, dimensions=["device"])}
    appearances = {r[0] for r in rows(service, dimensions=["searchAppearance"])}
    assert "usa" in countries and all(len(c) == 3 and c.islower() for c in countries)
    assert devices == {"DESKTOP", "MOBILE", "TABLET"}
    assert "" not in appearances and "AMP_BLUE_LINK" in appearances


def test_discover_rows_have_no_position(service):
    found = rows(service, dimensions=["date", "page"], type="DISCOVER")
    assert found and all(r[-1] is None for r in found)


def test_enums_are_accepted_in_upper_snake_and_deprecated_search_type():
    spec = parse_query(
        {
            "startDate": DAY,
            "endDate": DAY,
            "searchType": "GOOGLE_NEWS",
            "aggregationType": "BY_PAGE",
            "dataState": "ALL",
            "dimensions": ["PAGE"],
        }
    )
    assert (spec.search_type, spec.aggregation, spec.data_state) == ("googleNews", "byPage", "all")
    assert spec.dimensions == ("page",)


def test_auto_aggregation_is_by_page_with_a_page_filter_and_by_property_without():
    flt = [{"filters": [{"dimension": "page", "expression": "x"}]}]
    base = {"startDate": DAY, "endDate": DAY}
    assert parse_query({**base, "dimensionFilterGroups": flt}).aggregation == "byPage"
    assert parse_query({**base, "dimensions": ["query"]}).aggregation == "byProperty"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "discover", "dimensions": ["device"]}, "device"),
        ({"type": "discover", "dimensions": ["query"]}, "query"),
        ({"type": "googleNews", "dimensions": ["query"]}, "query"),
        ({"dimensions": ["searchAppearance", "page"]}, "searchAppearance"),
        ({"rowLimit": 0}, "rowLimit"),
        ({"rowLimit": 25_001}, "rowLimit"),
        ({"startRow": -1}, "startRow"),
        ({"startDate": "2025-06-04"}, "startDate must be earlier"),
        ({"startDate": "2025/06/03"}, "startDate"),
        ({"endDate": "2025-02-30"}, "endDate"),
        ({"dimensions": ["browser"]}, "dimensions[0]"),
        ({"type": "shopping"}, "type"),
        ({"aggregationType": "byUrl"}, "aggregation_type"),
        ({"dataState": "fresh"}, "data_state"),
        ({"aggregationType": "byProperty", "dimensions": ["page"]}, "byProperty"),
        ({"rowlimit": 10}, 'Unknown name "rowlimit"'),
    ],
)
def test_parse_query_rejects_what_google_rejects(body, message):
    with pytest.raises(BadRequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_query({"startDate": DAY, "endDate": DAY, **body})
