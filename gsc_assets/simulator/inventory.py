"""Sitemaps and URL Inspection, simulated from the docs (docs/search_console_api.md).

- `GET .../sites/{site}/sitemaps`: `{"sitemap": [...]}`; counts are int64 strings, times RFC 3339.
- `POST /v1/urlInspection/index:inspect` with `{inspectionUrl, siteUrl, languageCode}`: one URL
  per call; the URL must belong to the property (400 otherwise); its own quota per property,
  per day and per minute (429 RESOURCE_EXHAUSTED when spent). Unknown fields are refused.

Answers are deterministic per site and URL; `SimulatorConfig.inspection_overrides` plants a
changed verdict or canonical for one URL, `broken_sitemaps` makes a property's sitemap report
errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from gsc_assets.simulator import dataset, envelopes
from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.dataset import SiteSpec, SiteUniverse
from gsc_assets.simulator.quota import QuotaWindows
from gsc_assets.simulator.request import BadRequestError, require_known_fields
from gsc_assets.simulator.routing import Answer, json_answer

INSPECT_FIELDS = frozenset({"inspectionUrl", "siteUrl", "languageCode"})
DAY_SECONDS = 86_400.0
# (verdict, coverageState, indexingState, pageFetchState, robotsTxtState), by share of URLs.
VERDICTS: tuple[tuple[float, tuple[str, str, str, str, str]], ...] = (
    (0.85, ("PASS", "Submitted and indexed", "INDEXING_ALLOWED", "SUCCESSFUL", "ALLOWED")),
    (
        0.93,
        (
            "NEUTRAL",
            "Excluded by 'noindex' tag",
            "BLOCKED_BY_META_TAG",
            "SUCCESSFUL",
            "ALLOWED",
        ),
    ),
    (0.97, ("FAIL", "Not found (404)", "INDEXING_ALLOWED", "NOT_FOUND", "ALLOWED")),
    (
        1.0,
        (
            "PARTIAL",
            "Indexed, though blocked by robots.txt",
            "INDEXING_ALLOWED",
            "BLOCKED_ROBOTS_TXT",
            "DISALLOWED",
        ),
    ),
)


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def property_root(site_url: str) -> str:
    """The home URL of a property (`sc-domain:example.org` -> `https://example.org/`)."""
    if site_url.startswith("sc-domain:"):
        return f"https://{site_url.removeprefix('sc-domain:')}/"
    return site_url


def belongs_to(url: str, site_url: str) -> bool:
    """Whether `url` is part of the property: under the URL prefix, or on the domain."""
    if not site_url.startswith("sc-domain:"):
        return url.startswith(site_url)
    domain = site_url.removeprefix("sc-domain:")
    host = urlsplit(url).hostname or ""
    return urlsplit(url).scheme in ("http", "https") and (
        host == domain or host.endswith("." + domain)
    )


def _rfc3339(day: dt.date, hour: int) -> str:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC).isoformat().replace("+00:00", "Z")


def sitemaps(
    seed: int, spec: SiteSpec, universe: SiteUniverse, today: dt.date, broken: bool
) -> list[dict[str, Any]]:
    """The sitemaps of one property: an index, a page sitemap and an image sitemap."""
    root = property_root(spec.site_url)
    pages = len(universe.pages)
    indexed = round(pages * (0.8 + 0.15 * _fraction(seed, spec.site_url, "indexed")))
    entries = []
    for number, (name, kinds, index) in enumerate(
        (("sitemap.xml", ("web",), True), ("sitemap-pages.xml", ("web",), False)),
        start=1,
    ):
        entries.append(
            {
                "path": f"{root}{name}",
                "lastSubmitted": _rfc3339(today - dt.timedelta(days=30 * number), 8),
                "isPending": False,
                "isSitemapsIndex": index,
                "type": "sitemap",
                "lastDownloaded": _rfc3339(today - dt.timedelta(days=number), 3),
                "warnings": str(number - 1),
                "errors": "3" if broken and number == 1 else "0",
                "contents": [
                    {"type": kind, "submitted": str(pages), "indexed": str(indexed)}
                    for kind in kinds
                ],
            }
        )
    entries.append(
        {
            "path": f"{root}sitemap-images.xml",
            "lastSubmitted": _rfc3339(today - dt.timedelta(days=90), 8),
            "isPending": True,
            "isSitemapsIndex": False,
            "type": "sitemap",
            "warnings": "0",
            "errors": "0",
            "contents": [{"type": "image", "submitted": str(pages // 2), "indexed": "0"}],
        }
    )
    return entries


def parse_inspection(body: Any) -> tuple[str, str]:
    """(inspectionUrl, siteUrl) of a valid request body; BadRequestError in Google's words."""
    body = require_known_fields(body, INSPECT_FIELDS)
    for name in ("inspectionUrl", "siteUrl"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise BadRequestError(f"Required field: {name}")
    if not isinstance(body.get("languageCode", "en-US"), str):
        raise BadRequestError("Invalid value at 'language_code'")
    return body["inspectionUrl"], body["siteUrl"]


def canonical_of(url: str) -> str:
    """Google's canonical for a URL: without query string and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def inspection_result(
    seed: int, site_url: str, url: str, today: dt.date, override: dict[str, str] | None
) -> dict[str, Any]:
    """The `inspectionResult` for one URL (a planted `override` replaces fields)."""
    share = _fraction(seed, site_url, url)
    verdict, coverage, indexing, fetch, robots = next(v for cut, v in VERDICTS if share < cut)
    crawled = today - dt.timedelta(days=1 + int(_fraction(seed, url, "crawl") * 20))
    status: dict[str, Any] = {
        "verdict": verdict,
        "coverageState": coverage,
        "robotsTxtState": robots,
        "indexingState": indexing,
        "lastCrawlTime": _rfc3339(crawled, 4),
        "pageFetchState": fetch,
        "googleCanonical": canonical_of(url),
        "userCanonical": canonical_of(url),
        "crawledAs": "MOBILE" if _fraction(seed, url, "agent") < 0.9 else "DESKTOP",
        "sitemap": [f"{property_root(site_url)}sitemap-pages.xml"],
        "referringUrls": [property_root(site_url)],
    }
    if verdict == "FAIL":
        del status["googleCanonical"]
    status.update(override or {})
    link = (
        "https://search.google.com/search-console/inspect?"
        f"resource_id={quote(site_url, safe='')}&id={quote(url, safe='')}"
    )
    return {
        "inspectionResult": {
            "inspectionResultLink": link,
            "indexStatusResult": status,
            "mobileUsabilityResult": {"verdict": "PASS"},
        }
    }


def serve_sitemaps(config: SimulatorConfig, site_url: str, today: dt.date) -> Answer:
    """The answer of `sitemaps.list` for a property the caller can see."""
    spec = next(s for s in config.sites if s.site_url == site_url)
    universe = dataset.site_universe(config.seed, spec)
    broken = site_url in config.broken_sitemaps
    return json_answer(200, {"sitemap": sitemaps(config.seed, spec, universe, today, broken)})


def serve_inspection(
    config: SimulatorConfig,
    body: bytes,
    visible: list[str],
    received: float,
    quota: QuotaWindows,
    answered: Counter[str],
    today: dt.date,
) -> Answer:
    """The answer of `urlInspection.index.inspect`, within the property's own quotas."""
    try:
        url, site_url = parse_inspection(json.loads(body or b"{}"))
    except (ValueError, BadRequestError) as exc:  # not JSON, or not a valid request
        return json_answer(400, envelopes.bad_request(str(exc)))
    if site_url not in visible:
        return json_answer(403, envelopes.permission_denied(site_url))
    if not belongs_to(url, site_url):
        return json_answer(
            400, envelopes.bad_request(f"URL {url!r} is not in property {site_url!r}.")
        )
    for window, limit, name in (
        (DAY_SECONDS, config.inspection_per_day, "Queries per day per site"),
        (60.0, config.inspection_per_minute, "Queries per minute per site"),
    ):
        if quota.try_admit([(f"inspect:{window:g}:{site_url}", limit)], received, window):
            return json_answer(
                429, envelopes.rate_limited(config.project_number, name, "URL Inspection requests")
            )
    answered[site_url] += 1
    override = (config.inspection_overrides or {}).get(url)
    return json_answer(200, inspection_result(config.seed, site_url, url, today, override))
