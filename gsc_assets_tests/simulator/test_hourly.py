"""Contract (Google's 2025-04-09 announcement, the API's Metadata docs,
docs/search_console_api.md): the hour
dimension goes with dataState hourly_all; keys are Pacific clock hours in offset form
(`2025-04-07T00:00:00-07:00`, 23 or 25 of them on DST days), chronological when grouped by hour
alone; only the last 10 days and only hours that have begun are served;
`metadata.first_incomplete_hour` marks where data may still change; and once a day is final its
hourly rows sum exactly to its daily rows, for property totals and per page."""

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import requests

from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.simulator.request import BadRequestError, parse_query
from gsc_assets.simulator.service import SearchAnalytics
from gsc_assets_tests.simulator.test_server import AUTH, query_url

PACIFIC = ZoneInfo("America/Los_Angeles")
BIG, SMALL = (spec.site_url for spec in DEFAULT_SITES)
TODAY = dt.date(2025, 11, 5)
NOW = dt.datetime(2025, 11, 5, 10, tzinfo=PACIFIC)


@pytest.fixture(scope="module")
def service() -> SearchAnalytics:
    return SearchAnalytics(0, DEFAULT_SITES)


def hourly(service, site, day, dimensions=("hour",), now=NOW, **body):
    spec = parse_query(
        {
            "startDate": day.isoformat(),
            "endDate": day.isoformat(),
            "dimensions": list(dimensions),
            "dataState": "hourly_all",
            **body,
        }
    )
    return service.result(site, spec, now.date(), now)


def daily(service, site, day, dimensions=("date",), **body):
    spec = parse_query(
        {"startDate": day.isoformat(), "endDate": day.isoformat(), "dimensions": list(dimensions)}
        | body
    )
    return service.result(site, spec, TODAY).rows


def test_hour_keys_are_pacific_clock_hours_in_offset_form_and_chronological(service):
    rows = hourly(service, SMALL, dt.date(2025, 10, 29)).rows
    assert [r[0] for r in rows] == [f"2025-10-29T{h:02d}:00:00-07:00" for h in range(24)]
    dst_end = [r[0] for r in hourly(service, SMALL, dt.date(2025, 11, 2)).rows]
    assert len(dst_end) == 25
    assert dst_end[1:3] == ["2025-11-02T01:00:00-07:00", "2025-11-02T01:00:00-08:00"]
    dst_start = hourly(
        service, SMALL, dt.date(2025, 3, 9), now=dt.datetime(2025, 3, 12, tzinfo=PACIFIC)
    )
    assert len(dst_start.rows) == 23
    assert "2025-03-09T02:00:00-08:00" not in {r[0] for r in dst_start.rows}


@pytest.mark.parametrize("aggregation", ["byProperty", "byPage"])
def test_final_days_hours_sum_exactly_to_the_daily_totals(service, aggregation):
    day = dt.date(2025, 10, 30)  # final: before the first incomplete date, within 10 days
    hours = hourly(service, BIG, day, aggregationType=aggregation)
    assert hours.first_incomplete_hour is None
    (total,) = daily(service, BIG, day, aggregationType=aggregation)
    assert sum(r[1] for r in hours.rows) == total[1]
    assert sum(r[2] for r in hours.rows) == total[2]
    weighted = sum(r[2] * r[4] for r in hours.rows) / total[2]
    assert weighted == pytest.approx(total[4], rel=1e-12)


def test_page_hours_sum_to_each_pages_daily_row(service):
    day = dt.date(2025, 10, 31)
    by_page = defaultdict(lambda: [0.0, 0.0])
    for hour, page, clicks, impressions, _ctr, _position in hourly(
        service, SMALL, day, ("hour", "page")
    ).rows:
        assert hour.startswith("2025-10-31T")
        by_page[page][0] += clicks
        by_page[page][1] += impressions
    pages = daily(service, SMALL, day, ("date", "page"), aggregationType="byPage")
    assert {r[1]: [r[2], r[3]] for r in pages} == dict(by_page)


def test_today_has_only_the_hours_begun_and_older_days_than_ten_have_none(service):
    today = hourly(service, SMALL, TODAY).rows
    assert [r[0] for r in today] == [f"2025-11-05T{h:02d}:00:00-08:00" for h in range(11)]
    assert hourly(service, SMALL, TODAY - dt.timedelta(days=9)).rows
    assert hourly(service, SMALL, TODAY - dt.timedelta(days=10)).rows == []


def test_incomplete_hours_grow_until_final_and_are_flagged(service):
    day = TODAY - dt.timedelta(days=1)
    early = hourly(service, SMALL, day, now=NOW)
    later = hourly(service, SMALL, day, now=NOW + dt.timedelta(hours=30))
    final = hourly(service, SMALL, day, now=NOW + dt.timedelta(days=3))
    assert early.first_incomplete_hour == "2025-11-03T11:00:00-08:00"  # 47 hours before 10:00
    assert final.first_incomplete_hour is None
    for a, b, c in zip(early.rows, later.rows, final.rows, strict=True):
        assert a[0] == b[0] == c[0]
        assert a[2] <= b[2] <= c[2]
    assert sum(r[2] for r in early.rows) < sum(r[2] for r in final.rows)
    restated = SearchAnalytics(0, DEFAULT_SITES)
    spec = parse_query(
        {"startDate": day.isoformat(), "endDate": day.isoformat(), "dimensions": ["date"]}
    )
    (settled,) = restated.result(SMALL, spec, TODAY + dt.timedelta(days=3)).rows
    assert sum(r[2] for r in final.rows) == settled[2]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dimensions": ["hour"]}, "requires dataState HOURLY_ALL"),
        (
            {"dimensions": ["date"], "dataState": "hourly_all"},
            "only available when grouping by HOUR",
        ),
        (
            {"dimensions": ["HOUR", "searchAppearance", "page"], "dataState": "HOURLY_ALL"},
            "cannot group by any other dimension",
        ),
    ],
)
def test_hour_and_hourly_all_go_together(body, message):
    with pytest.raises(BadRequestError, match=message):
        parse_query({"startDate": "2025-11-01", "endDate": "2025-11-01", **body})


def test_over_http_hourly_rows_carry_first_incomplete_hour_and_follow_the_simulated_clock(
    make_simulator,
):
    sim = make_simulator(today=TODAY, hour=10)
    answer = requests.post(
        query_url(sim, SMALL),
        json={
            "startDate": "2025-11-05",
            "endDate": "2025-11-05",
            "dimensions": ["HOUR"],
            "dataState": "HOURLY_ALL",
        },
        headers=AUTH,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["metadata"] == {"first_incomplete_hour": "2025-11-03T11:00:00-08:00"}
    assert [r["keys"][0] for r in body["rows"]][-1] == "2025-11-05T10:00:00-08:00"
    expected = sim.expected_rows(SMALL, TODAY, "web", ["hour"], "auto", "hourly_all")
    assert [(*r["keys"], r["clicks"]) for r in body["rows"]] == [r[:2] for r in expected]
    sim.configure(hour=12)
    assert len(sim.expected_rows(SMALL, TODAY, "web", ["hour"], "auto", "hourly_all")) == 13
