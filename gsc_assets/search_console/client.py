"""SearchConsoleClient: one pooled HTTP session; every HTTP outcome mapped to `errors.py` here.

- `siteUrl` is the property exactly as registered, percent-encoded as ONE path segment
  (`quote(site, safe="")`): `https%3A%2F%2Fwww.example.com%2F`, `sc-domain%3Aexample.com`;
- statuses are classified by `responses.error_for_status`, transport failures here;
- the client never retries and never sleeps: one method call is one HTTP request. Retrying,
  backoff, rate limiting and pagination belong to the fetcher, which decides from the error class.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from gsc_assets.reports.limits import PACIFIC
from gsc_assets.search_console import errors
from gsc_assets.search_console.credentials import TokenProvider
from gsc_assets.search_console.models import QueryPage, QueryRequest
from gsc_assets.search_console.query_pages import decode_query_page, parse_query_response
from gsc_assets.search_console.responses import (
    SiteEntry,
    describe_request,
    error_for_status,
    malformed_response,
    parse_site_entry,
)

__all__ = ["SearchConsoleClient", "SiteEntry"]

API_PATH = "/webmasters/v3"
_TRANSPORT_EXCEPTIONS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class SearchConsoleClient:
    """Search Console over one pooled `requests.Session`; thread-safe for concurrent queries."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        timeout_seconds: float = 60.0,
        pool_size: int = 16,
        user_agent: str = "gsc_assets/0.1",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout_seconds = timeout_seconds
        self._session = requests.Session()
        # Retry(total=0): urllib3 must not retry behind the fetcher's back (quota, backoff).
        adapter = HTTPAdapter(
            pool_connections=pool_size,
            pool_maxsize=pool_size,
            max_retries=Retry(total=0, read=False, redirect=False),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})

    def list_sites(self) -> list[SiteEntry]:
        """Every property the credential can see (`sites.list`)."""
        data = self._call("GET", f"{API_PATH}/sites", context="the site list")
        entries = data.get("siteEntry", [])
        if not isinstance(entries, list):
            raise malformed_response("the site list", "siteEntry is not a list")
        return [parse_site_entry(entry, "the site list") for entry in entries]

    def get_site(self, site_url: str) -> SiteEntry:
        """One property and the credential's permission level on it (`sites.get`)."""
        context = f"site {site_url!r}"
        data = self._call("GET", f"{API_PATH}/sites/{quote(site_url, safe='')}", context=context)
        return parse_site_entry(data, context)

    def query(self, request: QueryRequest) -> QueryPage:
        """One page of `searchAnalytics.query`: exactly one HTTP call, no retry, no sleep."""
        context = describe_request(request)
        path = f"{API_PATH}/sites/{quote(request.site_url, safe='')}/searchAnalytics/query"
        response = self._send("POST", path, context, request.body())
        if not 200 <= response.status_code < 300:
            raise self._error(response, context)
        key_count = len(request.dimensions)
        page = decode_query_page(response.content, key_count, context)
        if page is None:  # refused by the fast decoder: the reference path says why (or accepts)
            page = parse_query_response(self._decode(response, context), key_count, context)
        return dataclasses.replace(page, served_on=served_on(response.headers.get("Date")))

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> SearchConsoleClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SearchConsoleClient({self.base_url!r}, identity={self.tokens.identity!r})"

    def call_json(
        self, method: str, path: str, *, context: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One JSON call under the base URL (sitemaps, URL Inspection): one HTTP request, its
        errors classified like every other; `context` names what was asked in messages."""
        return self._decode(self._send(method, path, context, body), context)

    _call = call_json

    def _decode(self, response: requests.Response, context: str) -> dict[str, Any]:
        if not 200 <= response.status_code < 300:
            raise self._error(response, context)
        try:
            data = json.loads(response.content)
        except ValueError:
            raise malformed_response(
                context, f"the body is not JSON ({_body_hint(response)})"
            ) from None
        if not isinstance(data, dict):
            raise malformed_response(
                context, f"the body is a JSON {type(data).__name__}, not an object"
            )
        return data

    def _send(
        self, method: str, path: str, context: str, body: dict[str, Any] | None
    ) -> requests.Response:
        headers = {"Authorization": self._authorization(context)}
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                json=body,
                headers=headers,
                timeout=self.timeout_seconds,
            )
            response.content  # noqa: B018 - read the body here, inside the transport guard
        except _TRANSPORT_EXCEPTIONS as exc:
            raise errors.TransportError(
                f"no usable answer from {self.base_url} for {context}: {type(exc).__name__}. "
                "Transient network trouble: retry with backoff; if it persists, check the "
                "network, proxy and GSC API base URL."
            ) from None
        except requests.RequestException as exc:
            raise errors.BadRequestError(
                f"cannot send the request for {context} to {self.base_url}: "
                f"{type(exc).__name__}; check the configured API base URL"
            ) from None
        return response

    def _authorization(self, context: str) -> str:
        try:
            return self.tokens.authorization_header()
        except errors.SearchConsoleError as exc:
            # Same class (same decision), with the work unit named.
            raise type(exc)(
                f"{exc.message} (needed for {context})",
                status=exc.status,
                reason=exc.reason,
                retry_after_seconds=exc.retry_after_seconds,
            ) from None

    def _error(self, response: requests.Response, context: str) -> errors.SearchConsoleError:
        if response.status_code == 401:
            self.tokens.invalidate()
        return error_for_status(
            response.status_code,
            response.content,
            context=context,
            retry_after=response.headers.get("Retry-After"),
        )


def served_on(date_header: str | None) -> dt.date | None:
    """The Search Console date (Pacific) of an HTTP Date header; None when absent or invalid."""
    if not date_header:
        return None
    try:
        return email.utils.parsedate_to_datetime(date_header).astimezone(PACIFIC).date()
    except (TypeError, ValueError):
        return None


def _body_hint(response: requests.Response) -> str:
    start = response.content[:80].decode("utf-8", "replace")
    return (
        f"HTTP {response.status_code}, Content-Type "
        f"{response.headers.get('Content-Type', 'none')!r}, {len(response.content)} bytes "
        f"starting {start!r}"
    )
