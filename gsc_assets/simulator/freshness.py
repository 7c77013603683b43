"""Which dates have data, and how complete: Search Console's lag and 16-month retention.

Data is final `FINAL_LAG_DAYS` days after the date (GSC_API.md: "typically final 2-3 days after
the date"). Younger dates exist only with dataState=all, as a growing fraction of their final
values, so a client that stores them must overwrite them later. Dates are Pacific Time.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
RETENTION_MONTHS = 16  # GSC_API.md "retention is 16 months"
FINAL_LAG_DAYS = 3
# Share of the final counts already visible, by age in days (0 = today).
COMPLETENESS_BY_AGE = {0: 0.35, 1: 0.7, 2: 0.92}


def pacific_today() -> dt.date:
    """Today's date in Search Console's time zone."""
    return dt.datetime.now(PACIFIC).date()


def retention_start(today: dt.date) -> dt.date:
    """The oldest date still kept: the same day `RETENTION_MONTHS` months before `today`."""
    months = today.year * 12 + today.month - 1 - RETENTION_MONTHS
    year, month = divmod(months, 12)
    month += 1
    for day in range(today.day, 0, -1):  # 31 March - 16 months has no 31st: clamp
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 1st")


def first_incomplete_date(today: dt.date) -> dt.date:
    """The first date whose data may still change."""
    return today - dt.timedelta(days=FINAL_LAG_DAYS - 1)


def completeness(date: dt.date, today: dt.date, data_state: str) -> float | None:
    """The fraction of the final data visible for `date`; None when the date has no data."""
    if date > today or date < retention_start(today):
        return None
    if date < first_incomplete_date(today):
        return 1.0
    if data_state == "final":
        return None
    return COMPLETENESS_BY_AGE[(today - date).days]
