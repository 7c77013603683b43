"""Seeded, Zipf-like Search Console data: one table of facts per site, date and search type.

A *fact* is the finest grain the simulator stores: (page, query, country, device, search
appearance) with its impressions, clicks and position, counted both per URL (byPage) and per
property (byProperty, fewer impressions and a better position: one impression per results page
for the whole property). Every report is a grouping of these facts, which is what makes the
simulator's numbers consistent: page rows always sum to the byPage totals, query rows always sum
to less (anonymized queries are flagged facts, dropped whenever a request groups or filters by
query), and property totals are a separate, smaller series.

Generation is a pure function of (seed, site spec, date, search type, revision) and is cached;
`revision` is bumped by `Simulator.mutate_day` to model Google restating a day.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, fields

import numpy as np

from gsc_assets.simulator import freshness
from gsc_assets.simulator.vocabulary import build_pages, build_queries

SEARCH_TYPES = ("web", "image", "video", "news", "discover", "googleNews")
# Page-only surfaces: no query dimension and no position (docs/search_console_api.md "Response").
PAGE_ONLY_TYPES = frozenset({"discover", "googleNews"})
# Volume of each search type relative to web.
TYPE_SHARE = {
    "web": 1.0,
    "image": 0.12,
    "video": 0.06,
    "news": 0.05,
    "discover": 0.1,
    "googleNews": 0.04,
}
COUNTRIES = ("usa", "gbr", "deu", "ind", "can", "fra", "aus", "bra", "jpn", "esp")
COUNTRY_WEIGHTS = (0.38, 0.12, 0.09, 0.09, 0.07, 0.06, 0.05, 0.05, 0.05, 0.04)
DEVICES = ("MOBILE", "DESKTOP", "TABLET")
DEVICE_WEIGHTS = (0.6, 0.35, 0.05)
DEVICE_POSITION_FACTOR = np.array([1.0, 0.9, 1.1])
# Index 0 means "no special appearance": such facts never form a searchAppearance row.
APPEARANCES = (
    "",
    "AMP_BLUE_LINK",
    "REVIEW_SNIPPET",
    "VIDEO",
    "PRODUCT_SNIPPETS",
    "MERCHANT_LISTINGS",
)
APPEARANCE_WEIGHTS = (0.86, 0.04, 0.04, 0.02, 0.03, 0.01)


@dataclass(frozen=True)
class SiteSpec:
    """One simulated property and the size of its data.

    `page_query_rows` is the number of distinct page x query rows on an ordinary web weekday;
    above 50,000 the API's per-day cap truncates the page x query report.
    """

    site_url: str
    pages: int
    queries: int
    page_query_rows: int
    impressions_scale: float = 1.0
    variant_share: float = 0.02
    anonymized_share: float = 0.15


DEFAULT_SITES = (
    SiteSpec("https://www.example.com/", pages=2_000, queries=40_000, page_query_rows=80_000),
    SiteSpec("sc-domain:example.org", pages=150, queries=2_500, page_query_rows=3_000),
)


@dataclass(frozen=True)
class SiteUniverse:
    """The keys a site can ever show, with their popularity."""

    pages: tuple[str, ...]
    queries: tuple[str, ...]
    page_weights: np.ndarray  # sums to 1; Zipf-like
    page_query_base: np.ndarray  # where each page's own queries start in `queries`


@dataclass(frozen=True)
class DayFacts:
    """Column arrays of one (site, date, search type) day; row i of every array is one fact."""

    page: np.ndarray
    query: np.ndarray
    anonymized: np.ndarray
    country: np.ndarray
    device: np.ndarray
    appearance: np.ndarray
    hour: np.ndarray  # index into freshness.hours_of(date): the clock hour the fact happened
    impressions: np.ndarray
    clicks: np.ndarray
    position: np.ndarray
    property_impressions: np.ndarray
    property_position: np.ndarray

    def __len__(self) -> int:
        return len(self.page)

    def take(self, selector: np.ndarray) -> DayFacts:
        """The facts picked by a boolean mask or an index array."""
        return DayFacts(**{f.name: getattr(self, f.name)[selector] for f in fields(self)})


def stable_seed(*parts: object) -> int:
    """A process-independent 64-bit seed (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=16)
def site_universe(seed: int, spec: SiteSpec) -> SiteUniverse:
    """Pages and queries of `spec` with their popularity (cached: built once per process)."""
    rng = np.random.default_rng(stable_seed(seed, "universe", spec.site_url))
    ranks = np.arange(1, spec.pages + 1, dtype=float)
    weights = ranks**-0.9
    rng.shuffle(weights[1:])  # the home page stays the most popular; the rest in random order
    return SiteUniverse(
        pages=build_pages(seed, spec.site_url, spec.pages, spec.variant_share),
        queries=build_queries(seed, spec.site_url, spec.queries),
        page_weights=weights / weights.sum(),
        page_query_base=rng.integers(0, spec.queries, spec.pages),
    )


def _day_volume(spec: SiteSpec, date: dt.date, search_type: str, rng: np.random.Generator) -> int:
    """Distinct page x query rows for the day: weekly seasonality and a slow trend."""
    weekly = 0.78 if date.weekday() >= 5 else 1.0
    trend = 1.0 + 0.08 * np.sin(date.toordinal() / 45.0)
    noise = rng.uniform(0.97, 1.03)
    return max(1, int(spec.page_query_rows * TYPE_SHARE[search_type] * weekly * trend * noise))


def _draw_pairs(universe: SiteUniverse, target: int, rng: np.random.Generator) -> np.ndarray:
    """`target`-ish distinct page*Q+query codes: popular pages rank for more of their queries."""
    n_queries = len(universe.queries)
    weights = universe.page_weights * (rng.random(len(universe.pages)) > 0.03)  # ~3% pages idle
    weights /= weights.sum()
    draws = int(target * 1.6) + 16
    pages = rng.choice(len(weights), size=draws, p=weights)
    span = max(32, n_queries // 6)
    # Log-uniform offsets: P(offset = k) ~ 1 / (k + 1), each page's own Zipf tail of queries.
    offsets = np.exp(rng.uniform(0.0, np.log(span + 1), draws)).astype(np.int64) - 1
    queries = (universe.page_query_base[pages] + offsets) % n_queries
    codes = np.unique(pages.astype(np.int64) * n_queries + queries)
    if len(codes) > target:
        codes = np.sort(rng.choice(codes, size=target, replace=False))
    return codes


def _generate(
    seed: int, spec: SiteSpec, date: dt.date, search_type: str, revision: int
) -> DayFacts:
    rng = np.random.default_rng(stable_seed(seed, spec.site_url, date, search_type, revision))
    universe = site_universe(seed, spec)
    codes = _draw_pairs(universe, _day_volume(spec, date, search_type, rng), rng)
    n_queries = len(universe.queries)
    pair_page, pair_query = codes // n_queries, codes % n_queries
    relative = universe.page_weights[pair_page] * len(universe.pages)
    pair_base = 2.5 * spec.impressions_scale * relative**0.6 * rng.lognormal(0.0, 1.0, len(codes))
    pair_position = 1.0 + rng.gamma(1.4, 7.0, len(codes)) / (1.0 + 0.25 * np.log1p(pair_base))
    anonymized = rng.random(len(codes)) < spec.anonymized_share
    # Each page x query pair is seen from one to three (country, device, appearance) cells.
    splits = 1 + (rng.random(len(codes)) < 0.35) + (pair_base > 40)
    pair = np.repeat(np.arange(len(codes)), splits)
    n = len(pair)
    device = rng.choice(len(DEVICES), size=n, p=DEVICE_WEIGHTS).astype(np.int8)
    impressions = np.maximum(1, np.rint(pair_base[pair] / splits[pair] * rng.lognormal(0, 0.4, n)))
    position = np.clip(
        pair_position[pair] * DEVICE_POSITION_FACTOR[device] * rng.lognormal(0.0, 0.08, n),
        1.0,
        98.0,
    )
    ctr = 0.32 / position**1.3
    clicks = rng.binomial(impressions.astype(np.int64), ctr)
    property_impressions = np.maximum(
        clicks, np.maximum(1, np.rint(impressions * rng.uniform(0.45, 0.75, n)))
    )
    return DayFacts(
        page=pair_page[pair].astype(np.int32),
        query=pair_query[pair].astype(np.int32),
        anonymized=anonymized[pair],
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS).astype(np.int8),
        device=device,
        appearance=rng.choice(len(APPEARANCES), size=n, p=APPEARANCE_WEIGHTS).astype(np.int8),
        hour=_draw_hours(seed, spec, date, search_type, revision, n),
        impressions=impressions.astype(np.int64),
        clicks=clicks.astype(np.int64),
        position=position,
        property_impressions=property_impressions.astype(np.int64),
        property_position=1.0 + (position - 1.0) * rng.uniform(0.6, 0.9, n),
    )


def _draw_hours(
    seed: int, spec: SiteSpec, date: dt.date, search_type: str, revision: int, n: int
) -> np.ndarray:
    """Each fact's hour, busier in the day than at night. A stream of its own, so adding hours
    left every other column (and so every daily number) exactly as it was."""
    rng = np.random.default_rng(stable_seed(seed, spec.site_url, date, search_type, revision, "h"))
    wall = np.array([h.hour for h in freshness.hours_of(date)], dtype=float)
    weights = 1.0 + 0.6 * np.sin((wall - 9.0) * np.pi / 12.0)
    return rng.choice(len(wall), size=n, p=weights / weights.sum()).astype(np.int8)


@functools.lru_cache(maxsize=64)
def final_facts(
    seed: int, spec: SiteSpec, date: dt.date, search_type: str, revision: int = 0
) -> DayFacts:
    """The day's final facts (cached; treat the arrays as read-only)."""
    return _generate(seed, spec, date, search_type, revision)


@functools.lru_cache(maxsize=32)
def partial_facts(
    seed: int, spec: SiteSpec, date: dt.date, search_type: str, revision: int, completeness: float
) -> DayFacts:
    """The day as seen before it is final: every count scaled down to `completeness`.

    Flooring keeps clicks <= impressions; facts that round to no impressions are not there yet.
    """
    final = final_facts(seed, spec, date, search_type, revision)
    if completeness >= 1.0:
        return final
    scaled = {
        "impressions": np.floor(final.impressions * completeness).astype(np.int64),
        "clicks": np.floor(final.clicks * completeness).astype(np.int64),
        "property_impressions": np.floor(final.property_impressions * completeness).astype(
            np.int64
        ),
    }
    partial = DayFacts(**{**{f.name: getattr(final, f.name) for f in fields(final)}, **scaled})
    return partial.take(partial.impressions > 0)


@functools.lru_cache(maxsize=32)
def hourly_facts(
    seed: int,
    spec: SiteSpec,
    date: dt.date,
    search_type: str,
    revision: int,
    shares: tuple[float, ...],
) -> DayFacts:
    """The day as the hourly view sees it: each fact scaled by the share of its hour.

    `shares[i]` is the visible share of hour i (0.0: not begun, 1.0: final); with every hour
    final these are exactly the final facts, so hourly rows then sum to the daily totals.
    """
    final = final_facts(seed, spec, date, search_type, revision)
    if all(share >= 1.0 for share in shares):
        return final
    share = np.asarray(shares, dtype=float)[final.hour]
    scaled = {
        name: np.floor(getattr(final, name) * share).astype(np.int64)
        for name in ("impressions", "clicks", "property_impressions")
    }
    partial = DayFacts(**{**{f.name: getattr(final, f.name) for f in fields(final)}, **scaled})
    return partial.take(partial.impressions > 0)
