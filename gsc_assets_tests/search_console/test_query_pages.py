"""Contract: the fast (msgspec) decoder and the reference path (json + parse_query_response)
are one behaviour. Every body the fast decoder accepts gives exactly the reference's page;
every body the reference refuses, the fast decoder refuses too (so the client falls back and
raises the reference's precise MalformedResponseError).
"""

import json
import random

import pytest

from gsc_assets.reports.vocabulary import AggregationType
from gsc_assets.search_console import errors
from gsc_assets.search_console.query_pages import decode_query_page, parse_query_response

CONTEXT = "site 'https://www.example.com/', date 2024-03-01"


def reference(body: bytes, key_count: int):
    return parse_query_response(json.loads(body), key_count, CONTEXT)


def encode(payload) -> bytes:
    return json.dumps(payload).encode()


def row(keys, clicks=1, impressions=10, ctr=0.1, position=2.5, **extra):
    out = {"keys": keys, "clicks": clicks, "impressions": impressions, "ctr": ctr, **extra}
    if position is not ...:
        out["position"] = position
    return out


VALID = [
    {"rows": [row(["d", "p"]), row(["d", "q"], 0, 7, 0, None), row(["d", "r"], position=...)]},
    {"rows": [row(["d", "p"], 12.0, 340.0, 0.0353, 4.2, unknown="ignored")], "extra": 1},
    {"responseAggregationType": "byPage"},  # an empty page has no rows key
    {"rows": [], "responseAggregationType": "somethingNew"},  # tolerated: None
    {"rows": [row(["d", "p"])], "metadata": {"first_incomplete_date": "2024-03-02"}},
    {"metadata": {"firstIncompleteDate": "2024-03-02", "firstIncompleteHour": "2024-03-02T10"}},
]


@pytest.mark.parametrize("payload", VALID)
def test_accepted_bodies_give_exactly_the_reference_page(payload):
    body = encode(payload)
    page = decode_query_page(body, 2, CONTEXT)
    assert page is not None
    assert page == reference(body, 2)
    assert all(type(v) is float for r in page.rows for v in r[2:5])


def test_a_full_random_page_matches_the_reference_row_for_row():
    rng = random.Random(7)
    rows = [
        row(
            ["2024-03-01", f"https://www.example.com/{i}", f"query {rng.random()}"],
            rng.choice([0, 3, 12.0, 10**6]),
            rng.randint(1, 10**7),
            rng.random(),
            rng.choice([None, 1, 1.5, rng.uniform(1, 100), ...]),
        )
        for i in range(5_000)
    ]
    body = encode({"rows": rows, "responseAggregationType": "byPage"})
    page = decode_query_page(body, 3, CONTEXT)
    assert page is not None and len(page.rows) == 5_000
    assert page == reference(body, 3)
    assert page.response_aggregation_type is AggregationType.BY_PAGE


MALFORMED = [
    b"<html>proxy</html>",
    b'{"rows": [{"keys": ["d", "p"], "clicks": 1',
    b"[]",
    b'{"rows": {"a": 1}}',
    b'{"rows": null}',
    b'{"rows": [5]}',
    encode({"rows": [{"clicks": 1, "impressions": 2, "ctr": 0.5}]}),  # keys missing
    encode({"rows": [row(["d"])]}),
    encode({"rows": [row(["d", "p", "q"])]}),
    encode({"rows": [row(["d", 7])]}),
    encode({"rows": [row(["d", None])]}),
    encode({"rows": [row("dp")]}),
    encode({"rows": [row(["d", "p"], clicks=True)]}),
    encode({"rows": [row(["d", "p"], impressions=False)]}),
    encode({"rows": [row(["d", "p"], ctr="0.1")]}),
    encode({"rows": [row(["d", "p"], clicks=None)]}),
    encode({"rows": [row(["d", "p"], position="4")]}),
    encode({"rows": [row(["d", "p"], position=True)]}),
    encode({"rows": [row(["d", "p"], position=[1])]}),
    encode({"rows": [{"keys": ["d", "p"], "clicks": 1, "ctr": 0.5}]}),  # impressions missing
    encode({"rows": [row(["d", "p"]), row(["d", "p"], clicks={})]}),  # the 2nd row is bad
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_what_the_reference_refuses_the_fast_decoder_refuses(body):
    assert decode_query_page(body, 2, CONTEXT) is None
    with pytest.raises((errors.MalformedResponseError, ValueError, AttributeError)):
        reference(body, 2)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"rows": [row(["d", "p"])], "metadata": {"first_incomplete_date": "x"}}, "not a date"),
        ({"rows": [row(["d", "p"])], "responseAggregationType": 5}, "not a string"),
    ],
)
def test_page_level_fields_raise_the_same_errors_on_the_fast_path(payload, problem):
    body = encode(payload)
    for decode in (lambda: decode_query_page(body, 2, CONTEXT), lambda: reference(body, 2)):
        with pytest.raises(errors.MalformedResponseError, match=problem):
            decode()


def test_json_only_the_reference_accepts_goes_to_the_reference_path():
    # Python's json reads NaN and 1e400 (inf); msgspec refuses them, so the client falls back
    # and the page is what it always was.
    body = b'{"rows": [{"keys": ["d", "p"], "clicks": NaN, "impressions": 1e400, "ctr": 0}]}'
    assert decode_query_page(body, 2, CONTEXT) is None
    assert reference(body, 2).rows[0][3] == float("inf")


def test_queries_without_dimensions_use_the_reference_path():
    body = encode({"rows": [{"clicks": 5, "impressions": 50, "ctr": 0.1, "position": 3}]})
    assert decode_query_page(body, 0, CONTEXT) is None
    assert reference(body, 0).rows == [(5.0, 50.0, 0.1, 3.0)]
