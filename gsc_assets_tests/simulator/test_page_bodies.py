"""Page bodies: the fast encoder writes exactly the bytes json.dumps wrote, and a page asked
again is the same bytes without being built again."""

import dataclasses
import datetime as dt
import json

import numpy as np

from gsc_assets.simulator import aggregation
from gsc_assets.simulator.dataset import DEFAULT_SITES
from gsc_assets.simulator.request import parse_query
from gsc_assets.simulator.service import QueryResult, SearchAnalytics

TODAY = dt.date(2025, 6, 15)
BIG = DEFAULT_SITES[0].site_url


def reference_body(result: QueryResult, start_row: int, row_limit: int) -> bytes:
    slow = dataclasses.replace(result, plain_numbers=False)
    return slow.page_body(start_row, row_limit)


def spec(**body):
    return parse_query({"startDate": "2025-06-02", "endDate": "2025-06-03", **body})


def test_fast_bodies_are_byte_identical_to_json_dumps():
    service = SearchAnalytics(0, DEFAULT_SITES)
    shapes = [
        spec(dimensions=["date", "page", "query"], rowLimit=25_000),
        spec(dimensions=["page"], type="discover"),  # no position
        spec(dimensions=["date"], aggregationType="byPage"),
        spec(dimensions=["query", "country"], dataState="all"),
    ]
    for shape in shapes:
        result = service.result(BIG, shape, TODAY)
        assert result.plain_numbers
        for start in (0, 25_000, 75_000):
            body = result.page_body(start, shape.row_limit)
            assert body == reference_body(result, start, shape.row_limit)
            json.loads(body)


def test_numbers_msgspec_spells_differently_take_the_json_path():
    def grouped(clicks, impressions):
        n = len(clicks)
        return aggregation.Grouped(
            np.zeros(n, dtype=np.int64),
            np.arange(n),
            np.asarray(clicks, dtype=float),
            np.asarray(impressions, dtype=float),
            np.asarray(impressions, dtype=float) * 3.0,
        )

    assert aggregation.plain_numbers(grouped([0.0, 5.0], [10.0, 7.0]), True)
    assert not aggregation.plain_numbers(grouped([1.0], [20_000.0]), True)  # ctr 5e-05
    assert not aggregation.plain_numbers(grouped([1.0], [1e16]), True)
    assert not aggregation.plain_numbers(grouped([0.0], [0.0]), True)  # ctr NaN
    tiny = QueryResult([("a", 1.0, 20_000.0, 5e-05, 3.0)], ("query",), "byProperty", None)
    assert b'"ctr":5e-05' in tiny.page_body(0, 10)


def test_a_page_asked_again_is_served_from_the_body_cache():
    service = SearchAnalytics(0, DEFAULT_SITES)
    shape = spec(dimensions=["date", "page"], rowLimit=1_000, startRow=1_000)
    body, rows = service.page(BIG, shape, TODAY, published_through=TODAY)
    result = service.result(BIG, shape, TODAY)
    assert rows == 1_000 and body == reference_body(result, 1_000, 1_000)
    again, _ = service.page(BIG, shape, TODAY, published_through=TODAY)
    assert again is body
    service.mutate_day(BIG, dt.date(2025, 6, 2))
    changed, _ = service.page(BIG, shape, TODAY, published_through=TODAY)
    assert changed != body
