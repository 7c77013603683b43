"""Contract: the simulator's sitemaps and URL Inspection endpoints answer as the docs say:
int64 counts as strings, a URL outside the property or an unknown field refused (400), the
property's own inspection quota per day answered 429 in Google's envelope, planted answers."""

from __future__ import annotations

from urllib.parse import quote

import requests

AUTH = {"Authorization": "Bearer sim-token"}
SMALL = "sc-domain:example.org"


def inspect(sim, url, site=SMALL, **extra):
    body = {"inspectionUrl": url, "siteUrl": site, **extra}
    return requests.post(
        f"{sim.base_url}/v1/urlInspection/index:inspect", json=body, headers=AUTH, timeout=10
    )


def test_sitemaps_carry_int64_counts_as_strings(simulator):
    answer = requests.get(
        f"{simulator.base_url}/webmasters/v3/sites/{quote(SMALL, safe='')}/sitemaps",
        headers=AUTH,
        timeout=10,
    ).json()["sitemap"]
    assert answer and all(isinstance(m["errors"], str) for m in answer)
    assert all(isinstance(c["submitted"], str) for m in answer for c in m["contents"])


def test_inspection_refuses_what_google_refuses_and_keeps_its_own_quota(make_simulator):
    sim = make_simulator(
        inspection_per_day=2,
        inspection_overrides={"https://example.org/": {"verdict": "FAIL"}},
    )
    outside = inspect(sim, "https://www.example.com/")
    assert outside.status_code == 400 and "not in property" in outside.json()["error"]["message"]
    assert inspect(sim, "https://example.org/", colour="red").status_code == 400
    assert inspect(sim, "https://example.org/", site="sc-domain:nope.org").status_code == 403
    planted = inspect(sim, "https://example.org/").json()["inspectionResult"]
    assert planted["indexStatusResult"]["verdict"] == "FAIL"
    assert inspect(sim, "https://blog.example.org/x").status_code == 200
    spent = inspect(sim, "https://example.org/a")
    assert spent.status_code == 429
    assert spent.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert sim.inspections() == {SMALL: 2}
