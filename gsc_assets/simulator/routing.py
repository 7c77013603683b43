"""HTTP-free request plumbing: the `Answer` type and the route table.

Routes are matched on the path under ANY base URL (docs/search_console_api.md: the same path on
searchconsole.googleapis.com and www.googleapis.com); the site stays percent-encoded as ONE
segment, so a property spelled with a raw slash does not match, as with Google.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = ("webmasters", "v3", "sites")


@dataclass
class Answer:
    """One HTTP answer; `drop` means: close the connection without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    rows: int = 0


def json_answer(status: int, payload: Any, **headers: str) -> Answer:
    """An answer with a compact JSON body."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(status, body, dict(headers))


def route(method: str, path: str) -> tuple[str, str | None]:
    """(kind, encoded site) for a request path under any base URL; kind "none" = 404."""
    if path.rstrip("/").endswith("/token") and method == "POST":
        return "token", None
    if path.endswith("/v1/urlInspection/index:inspect") and method == "POST":
        return "inspect", None
    segments = [s for s in path.split("/") if s]
    for i in range(len(segments) - 2):
        if tuple(segments[i : i + 3]) == API_PREFIX:
            rest = segments[i + 3 :]
            if not rest and method == "GET":
                return "list_sites", None
            if len(rest) == 1 and method == "GET":
                return "get_site", rest[0]
            if len(rest) == 3 and rest[1:] == ["searchAnalytics", "query"] and method == "POST":
                return "query", rest[0]
            if len(rest) == 2 and rest[1] == "sitemaps" and method == "GET":
                return "list_sitemaps", rest[0]
            break
    return "none", None
