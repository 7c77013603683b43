"""Which dates have data, and how complete: Search Console's lag and 16-month retention.

Data is final `FINAL_LAG_DAYS` days after the date (docs/search_console_api.md: "typically final
2-3 days after
the date"). Younger dates exist only with dataState=all, as a growing fraction of their final
values, so a client that stores them must overwrite them later. Dates are Pacific Time.

Hourly data (dimension hour, dataState hourly_all; Google's announcement of 2025-04-09 and the
API's `metadata.first_incomplete_hour`) covers the last `HOURLY_DAYS` days, today included, and
only hours that have begun. Each hour keeps a growing share of its final counts until it is
`HOURLY_COMPLETE_AFTER_HOURS` old; from then on it is final, so a day's hours sum to its final
daily totals once the day itself is final. Hours are real clock hours: a DST day has 23 or 25.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
RETENTION_MONTHS = 16  # docs/search_console_api.md "retention is 16 months"
FINAL_LAG_DAYS = 3
# Share of the final counts already visible, by age in days (0 = today).
COMPLETENESS_BY_AGE = {0: 0.35, 1: 0.7, 2: 0.92}
HOURLY_DAYS = 10  # "the API will return data for up to 10 days with an hourly breakdown"
# Inferred, not documented: an hour is final within FINAL_LAG_DAYS of the day it belongs to.
HOURLY_COMPLETE_AFTER_HOURS = 48
HOURLY_FIRST_SHARE = 0.35  # share of its final counts an hour shows while it is under way
MAX_HOURS_PER_DAY = 25  # the day DST ends
_HOUR = dt.timedelta(hours=1)


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


def hours_of(date: dt.date) -> tuple[dt.datetime, ...]:
    """The clock hours of a Pacific day, as aware datetimes (23, 24 or 25 of them)."""
    start = dt.datetime.combine(date, dt.time(), PACIFIC).astimezone(dt.UTC)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), PACIFIC).astimezone(dt.UTC)
    count = int((end - start) / _HOUR)
    return tuple((start + i * _HOUR).astimezone(PACIFIC) for i in range(count))


def hour_key(hour: dt.datetime) -> str:
    """Google's key for an hour: `2025-04-07T00:00:00-07:00` (Pacific, offset form)."""
    return hour.astimezone(PACIFIC).isoformat()


def current_hour(now: dt.datetime) -> dt.datetime:
    """The start of the hour `now` falls in (aware, UTC)."""
    return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def hour_shares(date: dt.date, now: dt.datetime) -> tuple[float, ...] | None:
    """Per hour of `date`, the share of its final counts visible at `now` (0.0: not begun).

    None when the date has no hourly data (older than `HOURLY_DAYS` days, or in the future).
    """
    today = now.astimezone(PACIFIC).date()
    if date > today or (today - date).days >= HOURLY_DAYS:
        return None
    newest = current_hour(now)
    shares = []
    for hour in hours_of(date):
        age = int((newest - hour.astimezone(dt.UTC)) / _HOUR)
        if age < 0:
            shares.append(0.0)
        elif age >= HOURLY_COMPLETE_AFTER_HOURS:
            shares.append(1.0)
        else:
            growth = (1.0 - HOURLY_FIRST_SHARE) * age / HOURLY_COMPLETE_AFTER_HOURS
            shares.append(HOURLY_FIRST_SHARE + growth)
    return tuple(shares)


def first_incomplete_hour(now: dt.datetime) -> dt.datetime:
    """The oldest hour whose data may still change (Pacific)."""
    oldest = current_hour(now) - (HOURLY_COMPLETE_AFTER_HOURS - 1) * _HOUR
    return oldest.astimezone(PACIFIC)
