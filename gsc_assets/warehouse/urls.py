"""Near-duplicate page URLs: one page reachable under several addresses.

Search Console counts every URL separately, so `https://x.com/a`, `https://x.com/a/`,
`http://x.com/a`, `https://x.com/A` and `https://x.com/a?utm_source=mail` split one page's clicks
and impressions. `variant_groups` finds them; nothing is merged (which variant is canonical is a
site owner's decision).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset(
    {"gclid", "fbclid", "msclkid", "dclid", "yclid", "mc_cid", "mc_eid"}
)
TRACKING_PREFIXES = ("utm_",)


@dataclass(frozen=True)
class VariantGroup:
    """URLs that normalise to the same page, and how they differ."""

    canonical: str
    urls: tuple[str, ...]
    kinds: tuple[str, ...]  # among: trailing_slash, letter_case, tracking_parameters, scheme


def is_tracking_parameter(name: str) -> bool:
    """Campaign and click-id parameters that never change the page served."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def normalise_url(url: str) -> str:
    """The URL with scheme https, lower case, no trailing slash and no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    path = parts.path.lower().rstrip("/") or "/"
    query = sorted(
        (name.lower(), value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_parameter(name)
    )
    return urlunsplit((scheme, parts.netloc.lower(), path, urlencode(query), ""))


def _kinds(urls: Iterable[str]) -> tuple[str, ...]:
    split = [urlsplit(url) for url in urls]
    kinds = []
    if len({p.path.rstrip("/") != p.path and p.path != "/" for p in split}) > 1:
        kinds.append("trailing_slash")
    if len({(p.netloc + p.path).rstrip("/") for p in split}) > len(
        {(p.netloc + p.path).rstrip("/").lower() for p in split}
    ):
        kinds.append("letter_case")
    if any(is_tracking_parameter(name) for p in split for name, _ in parse_qsl(p.query)):
        kinds.append("tracking_parameters")
    if len({p.scheme.lower() for p in split}) > 1:
        kinds.append("scheme")
    return tuple(kinds)


def variant_groups(urls: Iterable[str]) -> list[VariantGroup]:
    """Groups of two or more distinct URLs with the same normal form, sorted by normal form."""
    by_form: dict[str, set[str]] = defaultdict(set)
    for url in urls:
        by_form[normalise_url(url)].add(url)
    return [
        VariantGroup(form, tuple(sorted(members)), _kinds(members))
        for form, members in sorted(by_form.items())
        if len(members) > 1
    ]
