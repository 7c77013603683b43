"""Deterministic page URLs and query strings for a simulated site.

Everything here is a pure function of (seed, site): the same inputs always give the same
universe, so two simulators, or a simulator and a test, agree on every key without sharing state.
The universe deliberately contains what real properties contain and later quality checks must find:
near-duplicate URL variants (trailing slash, upper case, `?utm_source=`), queries with quotes and
non-ASCII text.
"""

from __future__ import annotations

import random

SECTIONS = ("products", "blog", "guides", "category", "help", "news", "reviews", "deals")
WORDS = (
    "blue",
    "shoes",
    "running",
    "trail",
    "leather",
    "boots",
    "summer",
    "winter",
    "sale",
    "kids",
    "women",
    "men",
    "waterproof",
    "hiking",
    "socks",
    "jacket",
    "best",
    "cheap",
    "size",
    "guide",
    "review",
    "vs",
    "how",
    "to",
    "clean",
    "repair",
    "care",
    "wide",
    "fit",
    "vegan",
    "red",
    "black",
    "white",
    "green",
    "sandals",
    "sneakers",
    "outlet",
    "near",
    "me",
    "free",
    "shipping",
    "return",
    "policy",
    "gift",
    "card",
    "store",
    "hours",
    "coupon",
    "code",
    "2024",
    "2025",
    "new",
    "top",
)
# Real queries carry quotes, accents and other scripts; clients must keep them byte-exact.
UNICODE_QUERIES = (
    "café près de moi",
    "schuhe größe 42",
    "zapatos niño",
    "東京 ホテル",
    "обувь купить",
    "naïve façade",
    "crème brûlée recipe",
    "straße ❤ shoes",
    "ñandú",
    "İstanbul shoes",
)
QUOTED_QUERIES = ('"blue shoes" review', 'shoes "size 9"', "o'neill jacket", 'say "hello" \\ bye')
# Variants a careless site produces; they are separate URLs to Search Console.
VARIANT_STYLES = ("trailing_slash", "upper_case", "utm")


def site_hosts(site_url: str) -> tuple[str, ...]:
    """The URL prefixes a property's pages live under (a domain property spans subdomains)."""
    if site_url.startswith("sc-domain:"):
        domain = site_url.removeprefix("sc-domain:")
        return (f"https://{domain}/", f"https://blog.{domain}/")
    return (site_url if site_url.endswith("/") else site_url + "/",)


def _slug(rng: random.Random, words: int) -> str:
    return "-".join(rng.choice(WORDS) for _ in range(words))


def _variant(url: str, style: str) -> str:
    if style == "trailing_slash":
        return url.rstrip("/") if url.endswith("/") else url + "/"
    if style == "upper_case":
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme}://{host}/{path.title()}"
    return url + "?utm_source=newsletter"


def build_pages(seed: int, site_url: str, count: int, variant_share: float) -> tuple[str, ...]:
    """`count` unique page URLs of the site; about `variant_share` of them near-duplicates."""
    rng = random.Random(f"{seed}:pages:{site_url}")
    hosts = site_hosts(site_url)
    pages: list[str] = [hosts[0]]
    seen = set(pages)
    variants = int(count * variant_share)
    while len(pages) < count - variants:
        # Secondary hosts (blog.example.org) get about a quarter of a domain property's pages.
        host = hosts[0] if len(hosts) == 1 or rng.random() < 0.75 else hosts[1]
        url = f"{host}{rng.choice(SECTIONS)}/{_slug(rng, rng.randint(1, 3))}-{len(pages)}"
        if url not in seen:
            seen.add(url)
            pages.append(url)
    while len(pages) < count:
        candidate = _variant(pages[rng.randrange(1, count - variants)], rng.choice(VARIANT_STYLES))
        if candidate not in seen:
            seen.add(candidate)
            pages.append(candidate)
    return tuple(pages)


def build_queries(seed: int, site_url: str, count: int) -> tuple[str, ...]:
    """`count` unique query strings, including quoted and non-ASCII ones near the top."""
    rng = random.Random(f"{seed}:queries:{site_url}")
    special = [*QUOTED_QUERIES, *UNICODE_QUERIES]
    queries: list[str] = []
    seen: set[str] = set()
    while len(queries) < count:
        if special and len(queries) % 7 == 3:
            text = special.pop(0)
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
            if text in seen:
                text = f"{text} {len(queries)}"
        if text not in seen:
            seen.add(text)
            queries.append(text)
    return tuple(queries)
