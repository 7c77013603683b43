"""searchAnalytics.query bodies -> `QueryPage`s of row tuples `(*keys, clicks, impressions,
ctr, position)`, validated strictly: a body that is not the documented JSON raises
MalformedResponseError naming the row and what is wrong with it.

Two paths, one behaviour. `decode_query_page` is the fast one (a 25,000-row page x query page
in ~0.7 µs a row instead of ~5.5, BENCHMARKS.md "decode"): msgspec decodes the bytes straight
into typed structs (keys: exactly n strings; metrics: numbers, not bools or strings; position:
a number, null or absent) and rows become tuples in one comprehension. Whatever it refuses
goes to the reference path (`json.loads` + `parse_query_response`), which either raises the
precise error or, for JSON the typed decoder is stricter about (NaN literals, huge numbers),
accepts the body exactly as before. msgspec accepts nothing the reference path refuses.

API facts (docs/search_console_api.md): an empty page has no `rows` key; a query without
dimensions returns one row without `keys`; metrics are JSON doubles; discover / googleNews rows
have no position; `metadata.first_incomplete_date` / `firstIncompleteDate` (both spellings are
seen).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import msgspec

from gsc_assets.reports.slices import Row
from gsc_assets.reports.vocabulary import AggregationType
from gsc_assets.search_console import errors
from gsc_assets.search_console.models import QueryPage
from gsc_assets.search_console.responses import malformed_response

_NUMBER = (int, float)  # JSON numbers; bool is excluded because type() is compared exactly


def decode_query_page(body: bytes, key_count: int, context: str) -> QueryPage | None:
    """The page in `body`, or None when the typed decoder refuses it: the caller then takes the
    reference path (`json.loads` + `parse_query_response`), which names what is wrong."""
    if not key_count:
        return None  # totals: one row whose keys may be absent or empty; not worth a decoder
    try:
        data = _decoder(key_count).decode(body)
    except msgspec.DecodeError:  # ValidationError included: it is a DecodeError
        return None
    rows = [(*r.keys, r.clicks, r.impressions, r.ctr, r.position) for r in data.rows]
    return query_page(rows, data.responseAggregationType, data.metadata, context)


@functools.cache
def _decoder(key_count: int) -> msgspec.json.Decoder[Any]:
    # gc=False: these short-lived structs hold no cycles, so 25,000 of them need not be
    # tracked (and scanned) by the garbage collector.
    row = msgspec.defstruct(
        f"Row{key_count}",
        [
            ("keys", tuple[(str,) * key_count]),  # type: ignore[misc]
            ("clicks", float),  # msgspec: a JSON int becomes a float; a bool is refused
            ("impressions", float),
            ("ctr", float),
            ("position", float | None, None),
        ],
        gc=False,
    )
    body = msgspec.defstruct(
        f"QueryBody{key_count}",
        [
            ("rows", list[row], msgspec.field(default_factory=list)),  # type: ignore[valid-type]
            ("responseAggregationType", object, None),  # checked by query_page, as before
            ("metadata", object, None),
        ],
        gc=False,
    )
    return msgspec.json.Decoder(body)


def parse_query_response(data: dict[str, Any], key_count: int, context: str) -> QueryPage:
    """Validate a searchAnalytics.query body and turn it into a `QueryPage` of row tuples."""
    raw_rows = data.get("rows", [])
    if not isinstance(raw_rows, list):
        raise malformed_response(context, f"rows is a {type(raw_rows).__name__}, not a list")
    rows = _parse_rows(raw_rows, key_count, context)
    return query_page(rows, data.get("responseAggregationType"), data.get("metadata"), context)


def query_page(rows: list[Row], aggregation: Any, metadata: Any, context: str) -> QueryPage:
    """A `QueryPage` of validated `rows`, with the body's raw `responseAggregationType` and
    `metadata` values checked here."""
    return QueryPage(
        rows=rows,
        response_aggregation_type=_parse_aggregation(aggregation, context),
        first_incomplete_date=_parse_first_incomplete_date(metadata, context),
        first_incomplete_hour=_metadata_value(
            metadata, "first_incomplete_hour", "firstIncompleteHour"
        ),
    )


def _parse_rows(raw_rows: list[Any], key_count: int, context: str) -> list[Row]:
    # Hot path (up to 25,000 rows): exact type checks, no per-row objects; the slow, precise
    # description of what is wrong is built only when a row fails.
    rows: list[Row] = []
    append = rows.append
    for index, raw in enumerate(raw_rows):
        if type(raw) is not dict:
            raise _bad_row(context, index, raw, key_count)
        keys = raw.get("keys")
        # Without dimensions Google sends no keys; an empty list is tolerated too.
        if (key_count or keys) and (
            type(keys) is not list
            or len(keys) != key_count
            or not all(type(key) is str for key in keys)
        ):
            raise _bad_row(context, index, raw, key_count)
        clicks: Any = raw.get("clicks")
        impressions: Any = raw.get("impressions")
        ctr: Any = raw.get("ctr")
        position: Any = raw.get("position")
        if (
            type(clicks) not in _NUMBER
            or type(impressions) not in _NUMBER
            or type(ctr) not in _NUMBER
            or (position is not None and type(position) not in _NUMBER)
        ):
            raise _bad_row(context, index, raw, key_count)
        metrics = (float(clicks), float(impressions), float(ctr))
        append((*(keys or ()), *metrics, None if position is None else float(position)))
    return rows


def _bad_row(context: str, index: int, raw: Any, key_count: int) -> errors.MalformedResponseError:
    if not isinstance(raw, dict):
        problem = "is not an object"
    elif not _keys_ok(raw.get("keys"), key_count):
        problem = f"keys must be {key_count} strings, got {raw.get('keys')!r}"
    else:
        values = ", ".join(repr(raw.get(m)) for m in ("clicks", "impressions", "ctr", "position"))
        problem = (
            "clicks, impressions and ctr must be numbers and position a number or absent, "
            f"got {values}"
        )
    return malformed_response(context, f"row {index} {problem}"[:400])


def _keys_ok(keys: Any, key_count: int) -> bool:
    if not key_count and not keys:
        return True
    return type(keys) is list and len(keys) == key_count and all(type(k) is str for k in keys)


def _parse_aggregation(value: Any, context: str) -> AggregationType | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed_response(context, f"responseAggregationType is {value!r}, not a string")
    try:
        return AggregationType.parse(value)
    except ValueError:
        # A value added after this code was written says nothing about the rows: tolerate it.
        return None


def _metadata_value(metadata: Any, snake: str, camel: str) -> Any:
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(snake, metadata.get(camel))
    return value if isinstance(value, str) and value else None


def _parse_first_incomplete_date(metadata: Any, context: str) -> dt.date | None:
    value = _metadata_value(metadata, "first_incomplete_date", "firstIncompleteDate")
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        problem = f"metadata first_incomplete_date {value!r} is not a date"
        raise malformed_response(context, problem) from None
