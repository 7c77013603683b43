"""The property inventory: which sites the credential sees, and each property's sitemaps.

`sites.list` is `SearchConsoleClient.list_sites`; `sitemaps.list` answers
`{"sitemap": [{path, lastSubmitted, isPending, isSitemapsIndex, type, lastDownloaded, warnings,
errors, contents: [{type, submitted, indexed}]}]}` where counts are int64 strings and times
RFC 3339 (docs/search_console_api.md "Other endpoints"). Parsing is strict: a malformed answer
raises MalformedResponseError naming the property.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gsc_assets.search_console.client import API_PATH, SearchConsoleClient
from gsc_assets.search_console.responses import malformed_response


@dataclass(frozen=True)
class SitemapContent:
    """What one sitemap lists of one content type (web, image, video, news, ...)."""

    content_type: str
    submitted: int
    indexed: int | None


@dataclass(frozen=True)
class Sitemap:
    """One sitemap of a property as Search Console last processed it."""

    path: str
    type: str | None
    is_pending: bool
    is_sitemaps_index: bool
    last_submitted: dt.datetime | None
    last_downloaded: dt.datetime | None
    warnings: int
    errors: int
    contents: tuple[SitemapContent, ...]


def list_sitemaps(client: SearchConsoleClient, site_url: str) -> list[Sitemap]:
    """Every sitemap Search Console knows for `site_url` (one request)."""
    context = f"the sitemaps of {site_url!r}"
    data = client.call_json(
        "GET", f"{API_PATH}/sites/{quote(site_url, safe='')}/sitemaps", context=context
    )
    entries = data.get("sitemap", [])
    if not isinstance(entries, list):
        raise malformed_response(context, "sitemap is not a list")
    return [_sitemap(entry, context) for entry in entries]


def _sitemap(entry: Any, context: str) -> Sitemap:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise malformed_response(context, f"a sitemap entry has no path: {entry!r}"[:300])
    where = f"{context}, sitemap {entry['path']!r}"
    contents = entry.get("contents", [])
    if not isinstance(contents, list):
        raise malformed_response(where, "contents is not a list")
    return Sitemap(
        path=entry["path"],
        type=optional_text(entry.get("type"), where, "type"),
        is_pending=_flag(entry.get("isPending"), where, "isPending"),
        is_sitemaps_index=_flag(entry.get("isSitemapsIndex"), where, "isSitemapsIndex"),
        last_submitted=rfc3339_time(entry.get("lastSubmitted"), where, "lastSubmitted"),
        last_downloaded=rfc3339_time(entry.get("lastDownloaded"), where, "lastDownloaded"),
        warnings=_count(entry.get("warnings", "0"), where, "warnings") or 0,
        errors=_count(entry.get("errors", "0"), where, "errors") or 0,
        contents=tuple(_content(item, where) for item in contents),
    )


def _content(item: Any, where: str) -> SitemapContent:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise malformed_response(where, f"a content entry has no type: {item!r}"[:300])
    return SitemapContent(
        content_type=item["type"],
        submitted=_count(item.get("submitted", "0"), where, "submitted") or 0,
        indexed=_count(item.get("indexed"), where, "indexed"),
    )


def _count(value: Any, where: str, name: str) -> int | None:
    """An int64 count; JSON carries it as a decimal string (a number is accepted too)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise malformed_response(where, f"{name} is not an int64 count: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise malformed_response(where, f"{name} is not an int64 count: {value!r}") from None


def _flag(value: Any, where: str, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise malformed_response(where, f"{name} is not a boolean: {value!r}")
    return value


def optional_text(value: Any, where: str, name: str) -> str | None:
    """A text field that may be absent; anything else is a malformed answer."""
    if value is not None and not isinstance(value, str):
        raise malformed_response(where, f"{name} is not text: {value!r}")
    return value


def rfc3339_time(value: Any, where: str, name: str) -> dt.datetime | None:
    """An RFC 3339 timestamp (`2026-11-01T08:00:00Z`, fractions allowed) as an aware datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed_response(where, f"{name} is not an RFC 3339 time: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise malformed_response(where, f"{name} is not an RFC 3339 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
