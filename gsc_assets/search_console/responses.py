"""What Search Console's answers mean: error envelopes -> errors.py classes (query bodies ->
QueryPage are query_pages.py's).

API facts this module relies on (docs/search_console_api.md):
- errors come in Google's envelope `{"error": {code, message, status, errors: [{reason, domain}],
  details: [{reason}]}}`, but proxies answer HTML: statuses are classified even without JSON;
- QPM quota is 429, or a 403 with usageLimits reasons / "quota exceeded"; load quota ("wait
  15 minutes") pauses the site; "API has not been used in project" is accessNotConfigured, which
  also carries domain usageLimits, so it is recognised before quota;
- a wrong property form (missing trailing slash, URL-prefix instead of `sc-domain:`) is answered
  403 "sufficient permission", not 404;
- `Retry-After` is undocumented but honoured when present (seconds or an HTTP date).
Pure functions: the client calls them at its boundary; tests call them directly.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from gsc_assets.search_console import errors
from gsc_assets.search_console.models import QueryRequest

MAX_QUOTED_BODY_CHARS = 300  # how much of a non-JSON error body a message quotes
_API_DISABLED_REASONS = frozenset({"accessNotConfigured", "SERVICE_DISABLED"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
# The daily project quota: backing off for minutes is the most a run can do.
_LOAD_REASONS = frozenset({"dailyLimitExceeded"})
_LOAD_WORDS = re.compile(r"load quota|quota metric '[^']*\bload\b|15 minutes", re.I)


@dataclass(frozen=True)
class SiteEntry:
    """A property the credential can see, and its permission level (siteOwner, ...)."""

    site_url: str
    permission_level: str


@dataclass(frozen=True)
class GoogleErrorInfo:
    """What Google (or whatever answered instead) said, parsed defensively from any body."""

    message: str
    status: str = ""
    reasons: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @property
    def said(self) -> str:
        """Google's words for messages: `PERMISSION_DENIED: <message>`."""
        return f"{self.status}: {self.message}" if self.status else self.message


def parse_error_body(body: bytes | str) -> GoogleErrorInfo:
    """Parse Google's error envelope; HTML or garbage yields its (tag-stripped) start as text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):  # OAuth style: {"error": "invalid_token", "error_description"}
        described = str(data.get("error_description") or error)
        return GoogleErrorInfo(described, reasons=frozenset({error}))
    if not isinstance(error, dict):
        flat = " ".join(re.sub(r"<[^>]*>", " ", text).split())
        return GoogleErrorInfo(flat[:MAX_QUOTED_BODY_CHARS] or "(empty body)")
    items = [
        e for key in ("errors", "details") for e in _list(error.get(key)) if isinstance(e, dict)
    ]
    return GoogleErrorInfo(
        message=str(error.get("message") or ""),
        status=str(error.get("status") or ""),
        reasons=frozenset(str(e["reason"]) for e in items if e.get("reason")),
        domains=frozenset(str(e["domain"]) for e in items if e.get("domain")),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110); else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(
    status: int, body: bytes | str, *, context: str, retry_after: str | None = None
) -> errors.SearchConsoleError:
    """The error a non-2xx answer means, named by the decision it forces.

    `context` names what was asked ("site 'X', date 2024-01-01, type web"); the message adds
    what Google said and what to do. 401 handling (invalidating the token) is the caller's.
    """
    info = parse_error_body(body)
    error_class, advice = _classify(status, info)
    if error_class is errors.PermissionDeniedError and "sufficient permission" in info.message:
        advice = _PERMISSION_ADVICE
    return error_class(
        f"{_WHAT[error_class]} for {context}: "
        f"Google answered HTTP {status} ({info.said}). {advice}",
        status=status,
        reason=min(info.reasons) if info.reasons else (info.status or None),
        retry_after_seconds=parse_retry_after(retry_after),
    )


_PERMISSION_ADVICE = (
    "The site URL must match the Search Console property exactly: URL-prefix properties keep "
    "their scheme and trailing slash ('https://www.example.com/'), domain properties are "
    "'sc-domain:example.com'. A service account must be added as a user of the property in "
    "Search Console (Settings > Users and permissions) with its client_email."
)
_WHAT: dict[type[errors.SearchConsoleError], str] = {
    errors.RateLimitedError: "Search Console queries-per-minute quota exceeded",
    errors.LoadQuotaError: "Search Console load quota exceeded",
    errors.TokenRejectedError: "the access token was rejected",
    errors.ServerError: "Search Console server error",
    errors.TransportError: "Search Console did not answer in time",
    errors.PermissionDeniedError: "permission denied",
    errors.ApiDisabledError: "the Search Console API is disabled",
    errors.BadRequestError: "Search Console rejected the request",
}


def _classify(status: int, info: GoogleErrorInfo) -> tuple[type[errors.SearchConsoleError], str]:
    if status == 401:
        return errors.TokenRejectedError, (
            "The token was invalidated and will be refreshed on the next attempt; if this "
            "repeats, the credentials are revoked or lack the webmasters.readonly scope."
        )
    if status == 408:  # the request timed out at the server: transient like a read timeout
        return errors.TransportError, "Retry with backoff."
    if status >= 500:
        return errors.ServerError, "Transient on Google's side: retry with backoff."
    if status in (403, 429):
        return _classify_forbidden(status, info)
    if status == 400:
        return errors.BadRequestError, (
            "This request will fail the same way every time: check the report's dimensions, "
            "search type, aggregation type, row limit and dates (docs/search_console_api.md "
            "lists known 400s)."
        )
    return errors.BadRequestError, (
        "Unexpected status for this endpoint: check the configured API base URL."
    )


def _classify_forbidden(
    status: int, info: GoogleErrorInfo
) -> tuple[type[errors.SearchConsoleError], str]:
    text = info.message.lower()
    # accessNotConfigured also carries domain usageLimits, so it is tested before quota.
    if info.reasons & _API_DISABLED_REASONS or "has not been used in project" in text:
        return errors.ApiDisabledError, (
            "Enable the Google Search Console API in the credential's Google Cloud project "
            "(APIs & Services > Library), wait a few minutes, then run again."
        )
    if "sufficient permission" in text:
        return errors.PermissionDeniedError, _PERMISSION_ADVICE
    if _LOAD_WORDS.search(info.message) or info.reasons & _LOAD_REASONS:
        return errors.LoadQuotaError, (
            "Google asks to wait about 15 minutes; pause this site. Querying page and query "
            "together, long date ranges and re-querying the same data cost the most load."
        )
    if (
        status == 429
        or info.reasons & _RATE_REASONS
        or "usageLimits" in info.domains
        or "quotaExceeded" in info.reasons
        or "quota exceeded" in text
    ):
        return errors.RateLimitedError, (
            "Back off and retry; lower the queries-per-minute budget if this persists."
        )
    return errors.PermissionDeniedError, (
        "The credential may not read this property: check that it is a user of the property "
        "in Search Console and that the site URL matches the property exactly."
    )


def describe_request(request: QueryRequest) -> str:
    """Human words naming a query for messages: site, dates, type, dimensions, offset."""
    start, end = request.start_date.isoformat(), request.end_date.isoformat()
    dates = f"date {start}" if start == end else f"dates {start}..{end}"
    dims = ",".join(d.value for d in request.dimensions) or "none"
    return (
        f"site {request.site_url!r}, {dates}, type {request.search_type.value}, "
        f"dimensions [{dims}], startRow {request.start_row}"
    )


def malformed_response(context: str, problem: str) -> errors.MalformedResponseError:
    """The error for a 2xx body that is not the documented JSON."""
    return errors.MalformedResponseError(
        f"Search Console answered {context} with a response that is not the documented JSON: "
        f"{problem}. A proxy or captive portal may be in the way, or the API changed: check "
        "the GSC API base URL and report it if it persists."
    )


def parse_site_entry(entry: Any, context: str) -> SiteEntry:
    """One `{siteUrl, permissionLevel}` object as a SiteEntry."""
    if not (
        isinstance(entry, dict)
        and isinstance(entry.get("siteUrl"), str)
        and isinstance(entry.get("permissionLevel"), str)
    ):
        problem = f"a site entry lacks siteUrl/permissionLevel strings: {entry!r}"
        raise malformed_response(context, problem[:300])
    return SiteEntry(entry["siteUrl"], entry["permissionLevel"])
