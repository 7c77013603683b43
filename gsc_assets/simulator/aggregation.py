"""Turn facts into the rows searchAnalytics.query returns (docs/search_console_api.md "Data limits
and semantics").

- byPage counts facts' per-URL metrics, byProperty their per-property metrics;
- grouping or filtering by query drops anonymized facts, so query rows sum to less than totals;
- grouping by searchAppearance only sees facts that have a special appearance;
- rows are sorted by clicks descending (ties: impressions descending, then a fixed key order);
  grouping by date or hour alone gives chronological order;
- the hour dimension keeps days apart like date does (its keys name the day and the hour);
- each day keeps at most `MAX_ROWS_PER_DAY` rows (the top by clicks) before days are combined
  and before paging.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gsc_assets.simulator.dataset import APPEARANCES, COUNTRIES, DEVICES, DayFacts, SiteUniverse
from gsc_assets.simulator.freshness import MAX_HOURS_PER_DAY, hour_key, hours_of
from gsc_assets.simulator.request import Filter, QuerySpec

MAX_ROWS_PER_DAY = (
    50_000  # docs/search_console_api.md "at most 50,000 rows per day per search type"
)
FACT_COLUMN = {
    "page": "page",
    "query": "query",
    "country": "country",
    "device": "device",
    "searchAppearance": "appearance",
    "hour": "hour",
}
TIME_DIMENSIONS = frozenset({"date", "hour"})
_CASE_SENSITIVE_EQUALS = frozenset({"page", "query"})


@dataclass(frozen=True)
class Grouped:
    """Aggregated rows in column form: `codes` encode the non-date keys (see `_key_layout`)."""

    day_index: np.ndarray  # index into the request's dates; -1 when date is not grouped
    codes: np.ndarray
    clicks: np.ndarray
    impressions: np.ndarray
    position_sum: np.ndarray  # impressions x position, so positions combine as weighted means

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, order: np.ndarray) -> Grouped:
        """Rows picked by an index array, in that order."""
        return Grouped(
            self.day_index[order],
            self.codes[order],
            self.clicks[order],
            self.impressions[order],
            self.position_sum[order],
        )


def vocabulary(universe: SiteUniverse, dimension: str) -> tuple[str, ...]:
    """Index -> key string for one dimension."""
    return {
        "page": universe.pages,
        "query": universe.queries,
        "country": COUNTRIES,
        "device": DEVICES,
        "searchAppearance": APPEARANCES,
    }[dimension]


@functools.lru_cache(maxsize=256)
def _matches(keys: tuple[str, ...], dimension: str, operator: str, expression: str) -> np.ndarray:
    """Which vocabulary entries pass one filter (evaluated once per key, not once per fact)."""
    if operator in ("equals", "notEquals"):
        if dimension in _CASE_SENSITIVE_EQUALS:
            hits = [key == expression for key in keys]
        else:
            hits = [key.lower() == expression.lower() for key in keys]
    elif operator in ("contains", "notContains"):
        needle = expression.lower()
        hits = [needle in key.lower() for key in keys]
    else:
        pattern = re.compile(expression)
        hits = [pattern.search(key) is not None for key in keys]
    result = np.array(hits, dtype=bool)
    return ~result if operator in ("notEquals", "notContains", "excludingRegex") else result


def fact_mask(facts: DayFacts, spec: QuerySpec, universe: SiteUniverse) -> np.ndarray:
    """Facts that enter the request: filters passed, anonymized queries out when query is used."""
    mask = np.ones(len(facts), dtype=bool)
    for f in spec.filters:
        mask &= _filter_hits(facts, f, universe)
    if spec.uses("query"):
        mask &= ~facts.anonymized
    if "searchAppearance" in spec.dimensions:
        mask &= facts.appearance != 0
    return mask


def _filter_hits(facts: DayFacts, f: Filter, universe: SiteUniverse) -> np.ndarray:
    keys = vocabulary(universe, f.dimension)
    hits: np.ndarray = _matches(keys, f.dimension, f.operator, f.expression)[
        getattr(facts, FACT_COLUMN[f.dimension])
    ]
    return hits


def _key_layout(spec: QuerySpec, universe: SiteUniverse) -> list[tuple[str, int, int]]:
    """(dimension, radix, stride) per non-date dimension: a mixed-radix code per key tuple."""
    layout, stride = [], 1
    for dim in reversed([d for d in spec.dimensions if d != "date"]):
        radix = MAX_HOURS_PER_DAY if dim == "hour" else len(vocabulary(universe, dim))
        layout.append((dim, radix, stride))
        stride *= radix
    return layout[::-1]


def group_day(facts: DayFacts, spec: QuerySpec, universe: SiteUniverse, day: int) -> Grouped:
    """One day's rows for `spec`, capped at `MAX_ROWS_PER_DAY`, sorted by clicks."""
    mask = fact_mask(facts, spec, universe)
    by_page = spec.aggregation == "byPage"
    impressions = (facts.impressions if by_page else facts.property_impressions)[mask]
    position = (facts.position if by_page else facts.property_position)[mask]
    clicks = facts.clicks[mask]
    codes = np.zeros(len(clicks), dtype=np.int64)
    for dim, _radix, stride in _key_layout(spec, universe):
        codes += getattr(facts, FACT_COLUMN[dim])[mask].astype(np.int64) * stride
    unique, inverse = np.unique(codes, return_inverse=True)
    grouped = Grouped(
        day_index=np.full(len(unique), day, dtype=np.int64),
        codes=unique,
        clicks=np.bincount(inverse, clicks, len(unique)),
        impressions=np.bincount(inverse, impressions, len(unique)),
        position_sum=np.bincount(inverse, impressions * position, len(unique)),
    )
    return grouped.take(_by_clicks(grouped)[:MAX_ROWS_PER_DAY])


def _by_clicks(g: Grouped) -> np.ndarray:
    # lexsort sorts by the last key first: clicks desc, impressions desc, day asc, code asc.
    return np.lexsort((g.codes, g.day_index, -g.impressions, -g.clicks))


def combine_days(days: Sequence[Grouped], spec: QuerySpec) -> Grouped:
    """All days' rows in response order; summed across days when date is not a dimension."""
    if not days:
        return Grouped(
            *(np.zeros(0, dtype=dtype) for dtype in (np.int64, np.int64, float, float, float))
        )
    joined = Grouped(
        *(
            np.concatenate([getattr(d, name) for d in days])
            for name in ("day_index", "codes", "clicks", "impressions", "position_sum")
        )
    )
    if not TIME_DIMENSIONS & set(spec.dimensions):
        unique, inverse = np.unique(joined.codes, return_inverse=True)
        joined = Grouped(
            np.full(len(unique), -1, dtype=np.int64),
            unique,
            *(
                np.bincount(inverse, getattr(joined, name), len(unique))
                for name in ("clicks", "impressions", "position_sum")
            ),
        )
    if set(spec.dimensions) <= TIME_DIMENSIONS:
        return joined.take(np.lexsort((joined.codes, joined.day_index)))
    return joined.take(_by_clicks(joined))


def row_tuples(
    g: Grouped,
    spec: QuerySpec,
    universe: SiteUniverse,
    dates: Sequence[dt.date],
    has_position: bool,
) -> list[tuple]:
    """Rows as `(*keys, clicks, impressions, ctr, position)`, keys in requested order."""
    columns = {
        dim: _hour_keys(dates)[g.day_index, (g.codes // stride) % radix]
        if dim == "hour"
        else np.asarray(vocabulary(universe, dim), dtype=object)[(g.codes // stride) % radix]
        for dim, radix, stride in _key_layout(spec, universe)
    }
    if "date" in spec.dimensions:
        iso = np.asarray([d.isoformat() for d in dates], dtype=object)
        columns["date"] = iso[g.day_index]
    key_lists = [columns[dim].tolist() for dim in spec.dimensions]
    clicks, impressions = g.clicks.tolist(), g.impressions.tolist()
    ctr = (g.clicks / g.impressions).tolist()
    position = (g.position_sum / g.impressions).tolist() if has_position else [None] * len(g)
    return list(zip(*key_lists, clicks, impressions, ctr, position, strict=True))


def plain_numbers(g: Grouped, has_position: bool) -> bool:
    """True when every metric of the rows `row_tuples` makes is 0 or finite with
    1e-4 <= |value| < 1e16: where msgspec spells a float exactly as `json.dumps` does (outside
    it msgspec writes 1e16 / 0.00001 where json writes 1e+16 / 1e-05, and null for NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = [g.clicks, g.impressions, g.clicks / g.impressions]
        if has_position:
            columns.append(g.position_sum / g.impressions)
    for column in columns:
        size = np.abs(column)
        if not np.all((size == 0) | ((size >= 1e-4) & (size < 1e16))):  # NaN compares False
            return False
    return True


def _hour_keys(dates: Sequence[dt.date]) -> np.ndarray:
    """[day index, hour index] -> Google's hour key, for the request's dates."""
    keys = np.full((len(dates), MAX_HOURS_PER_DAY), "", dtype=object)
    for row, date in enumerate(dates):
        for column, hour in enumerate(hours_of(date)):
            keys[row, column] = hour_key(hour)
    return keys
