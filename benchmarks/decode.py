"""Client-side CPU per row: decoding one 25,000-row page x query page into row tuples.

The body is what the simulator serves for the big site (date, page, query), fetched once over
HTTP; each decoder then runs on the same bytes in this process, best and median of N runs.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from benchmarks.common import BIG_SITE, Result, Target
from gsc_assets.search_console.query_pages import decode_query_page, parse_query_response
from gsc_assets.simulator import SimulatorConfig, running_simulator

CONTEXT = "benchmark page"
KEYS = 3  # date, page, query


def page_body() -> bytes:
    """A full 25,000-row page of the big site's page x query report, as served."""
    with running_simulator(SimulatorConfig()) as sim:
        day = (sim.today() - dt.timedelta(days=5)).isoformat()
        response = requests.post(
            f"{sim.base_url}/webmasters/v3/sites/{quote(BIG_SITE, safe='')}/searchAnalytics/query",
            json={
                "startDate": day,
                "endDate": day,
                "dimensions": ["date", "page", "query"],
                "rowLimit": 25_000,
                "type": "web",
            },
            headers={"Authorization": "Bearer sim-token"},
            timeout=120,
        )
        response.raise_for_status()
        return response.content


def _timings(function: Callable[[], Any], runs: int) -> list[float]:
    function()  # warm-up: decoder caches, allocator
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        out.append(time.perf_counter() - started)
    return out


def decode(quick: bool) -> Result:
    """µs per row of each way to turn the page's bytes into row tuples."""
    runs = 5 if quick else 21
    body = page_body()
    rows = len(json.loads(body)["rows"])
    candidates: dict[str, Callable[[], Any]] = {
        "json.loads alone (no rows built, no checks)": lambda: json.loads(body),
        "before: json.loads + checking loop (now the reference/fallback path)": (
            lambda: parse_query_response(json.loads(body), KEYS, CONTEXT)
        ),
        "after: msgspec typed structs -> tuples (decode_query_page)": (
            lambda: decode_query_page(body, KEYS, CONTEXT)
        ),
    }
    try:  # not a dependency: measured only to justify the choice where it is installed
        import orjson

        candidates["considered: orjson.loads + checking loop"] = lambda: parse_query_response(
            orjson.loads(body), KEYS, CONTEXT
        )
    except ImportError:
        pass
    assert decode_query_page(body, KEYS, CONTEXT) == parse_query_response(
        json.loads(body), KEYS, CONTEXT
    )
    table, per_row = [], {}
    for label, function in candidates.items():
        timings = _timings(function, runs)
        best, median = min(timings), statistics.median(timings)
        per_row[label] = median / rows * 1e6
        table.append([label, round(best * 1e3, 1), round(median * 1e3, 1), per_row[label]])
    before = next(v for k, v in per_row.items() if k.startswith("before"))
    after = next(v for k, v in per_row.items() if k.startswith("after"))
    return Result(
        name="decode",
        title=f"Decode: one page x query page ({rows:,} rows, {len(body) / 1e6:.1f} MB) "
        "into row tuples, one thread",
        columns=["decoder", "best ms", "median ms", "µs per row (median)"],
        rows=table,
        targets=[
            Target(
                "the client's decoder costs less CPU per row than json.loads + checks",
                f"{after:.2f} vs {before:.2f} µs per row ({before / after:.1f}x)",
                after < before,
            )
        ],
        notes=[
            f"Median of {runs} runs after a warm-up, same bytes for every decoder. Strictness is "
            "unchanged: whatever msgspec refuses goes to the reference path, which raises the "
            "same MalformedResponseError (tests: test_query_pages.py, test_client.py).",
        ],
        quick=quick,
        extra={"rows": rows, "bytes": len(body), "us_per_row": per_row},
    )


def _main(argv: list[str]) -> None:
    """`python -m benchmarks.decode BODY_FILE reference|fast N`: decode the page N times, for
    timing whole processes from outside (farm-bench ... --vs ...)."""
    path, mode, count = argv[0], argv[1], int(argv[2])
    with open(path, "rb") as file:
        body = file.read()
    for _ in range(count):
        if mode == "fast":
            decode_query_page(body, KEYS, CONTEXT)
        else:
            parse_query_response(json.loads(body), KEYS, CONTEXT)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
