"""URL Inspection: one URL per call, under a quota of its own per property.

`POST {base}/v1/urlInspection/index:inspect` with `{inspectionUrl, siteUrl, languageCode}`
answers `{"inspectionResult": {"inspectionResultLink", "indexStatusResult": {verdict,
coverageState, robotsTxtState, indexingState, lastCrawlTime, pageFetchState, googleCanonical,
userCanonical, crawledAs, ...}, ...}}`; a missing section means that analysis was not available.
Quota per property: 2,000 a day and 600 a minute (docs/search_console_api.md "Other endpoints").

`InspectionQuota` spends a share of the daily quota through the same quota store as the Search
Analytics limiter, so every run and machine sharing the store shares one budget: the day's budget
is checked without waiting (spent means "stop for today"), the minute's with waiting.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from gsc_assets.reports.limits import INSPECTIONS_PER_SITE_PER_MINUTE
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.clock import Clock, SystemClock
from gsc_assets.search_console.errors import FetchCancelledError
from gsc_assets.search_console.inventory import optional_text, rfc3339_time
from gsc_assets.search_console.quota_log import QuotaStore
from gsc_assets.search_console.responses import malformed_response

INSPECT_PATH = "/v1/urlInspection/index:inspect"
DAY_SECONDS = 86_400.0
MINUTE_SECONDS = 60.0
LEASE_SECONDS = 300.0  # an unanswered inspection counts as in flight this long (see rate_limiter)


@dataclass(frozen=True)
class Inspection:
    """What Google says about one URL of a property today (None: not in the answer)."""

    site_url: str
    url: str
    verdict: str | None
    coverage_state: str | None
    indexing_state: str | None
    robots_txt_state: str | None
    page_fetch_state: str | None
    last_crawl_time: dt.datetime | None
    google_canonical: str | None
    user_canonical: str | None
    crawled_as: str | None
    link: str | None


def inspect_url(
    client: SearchConsoleClient, site_url: str, url: str, language_code: str = "en-US"
) -> Inspection:
    """Inspect one URL of `site_url` (one request; errors classified like every other call)."""
    context = f"the inspection of {url!r} in {site_url!r}"
    body = {"inspectionUrl": url, "siteUrl": site_url, "languageCode": language_code}
    data = client.call_json("POST", INSPECT_PATH, context=context, body=body)
    return parse_inspection(data, site_url, url, context)


def parse_inspection(data: Any, site_url: str, url: str, context: str) -> Inspection:
    """An `inspectionResult` answer as an Inspection; strict about the fields it keeps."""
    result = data.get("inspectionResult") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise malformed_response(context, "the answer has no inspectionResult object")
    status = result.get("indexStatusResult", {})
    if not isinstance(status, dict):
        raise malformed_response(context, "indexStatusResult is not an object")

    def text(name: str) -> str | None:
        return optional_text(status.get(name), context, name)

    return Inspection(
        site_url=site_url,
        url=url,
        verdict=text("verdict"),
        coverage_state=text("coverageState"),
        indexing_state=text("indexingState"),
        robots_txt_state=text("robotsTxtState"),
        page_fetch_state=text("pageFetchState"),
        last_crawl_time=rfc3339_time(status.get("lastCrawlTime"), context, "lastCrawlTime"),
        google_canonical=text("googleCanonical"),
        user_canonical=text("userCanonical"),
        crawled_as=text("crawledAs"),
        link=optional_text(result.get("inspectionResultLink"), context, "inspectionResultLink"),
    )


@dataclass(frozen=True)
class InspectionAdmission:
    """One admitted inspection: settle it when its answer arrives."""

    buckets: tuple[tuple[str, float], ...]  # (bucket, stamp) per window


class InspectionQuota:
    """A daily budget (a share of Google's 2,000) and 600 a minute, per property, in a store."""

    def __init__(
        self,
        store: QuotaStore,
        *,
        daily_budget: int,
        per_minute: int = INSPECTIONS_PER_SITE_PER_MINUTE,
        clock: Clock | None = None,
    ) -> None:
        if daily_budget < 1 or per_minute < 1:
            raise ValueError("daily_budget and per_minute must be >= 1")
        self.store, self.daily_budget, self.per_minute = store, daily_budget, per_minute
        self._clock = clock or SystemClock()

    @staticmethod
    def day_bucket(site_url: str) -> str:
        """The store bucket counting a property's inspections over the last day."""
        return f"inspect-day:{site_url}"

    def try_acquire(
        self, site_url: str, cancel: threading.Event | None = None
    ) -> InspectionAdmission | None:
        """Admit one inspection of `site_url`, or None when the day's budget is spent.

        The day's budget is taken first and never waited for; then the minute's, waiting.
        A day slot taken by a request that never goes out is lost (the budget errs low).
        """
        day = self.day_bucket(site_url)
        wait, day_stamp = self.store.try_admit(
            [(day, self.daily_budget)], self._clock.time(), DAY_SECONDS, LEASE_SECONDS
        )
        if day_stamp is None:
            return None
        minute = f"inspect-minute:{site_url}"
        while True:
            if cancel is not None and cancel.is_set():
                raise FetchCancelledError(f"cancelled while waiting to inspect {site_url!r}")
            wait, stamp = self.store.try_admit(
                [(minute, self.per_minute)], self._clock.time(), MINUTE_SECONDS, LEASE_SECONDS
            )
            if stamp is not None:
                return InspectionAdmission(((day, day_stamp), (minute, stamp)))
            self._clock.sleep(min(wait, 1.0))

    def settle(self, admission: InspectionAdmission) -> None:
        """The answer arrived: each entry counts from now, not from the end of its lease."""
        now = self._clock.time()
        for bucket, stamp in admission.buckets:
            self.store.settle([bucket], stamp, now)
