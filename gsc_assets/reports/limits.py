"""Google's numbers and calendar: row caps, quotas, retention, finality lag, Pacific days.

Facts from docs/search_console_api.md ("Limits", "Finality"); the client, the warehouse and the
settings read them here, so each is written once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

MAX_ROWS_PER_REQUEST = 25_000  # "Limits": rowLimit 1..25,000
MAX_ROWS_PER_DAY = 50_000  # "Limits": at most 50,000 rows per day and search type
QUOTA_QPM_PER_SITE = 1_200  # "Limits": queries per minute per site
QUOTA_QPM_PER_USER = 1_200  # ... and per user (one credential, across its sites)
RETENTION_MONTHS = 16
# "Finality": data is typically final 2-3 days after the date. A date is final by age alone
# once it is MORE than this many days old when it is fetched.
FINAL_AFTER_DAYS = 3
PACIFIC = ZoneInfo("America/Los_Angeles")  # Search Console counts days in Pacific Time


def pacific_date(epoch_seconds: float) -> dt.date:
    """The Search Console date (Pacific Time) at a wall-clock instant."""
    return dt.datetime.fromtimestamp(epoch_seconds, PACIFIC).date()


def today_pacific(now: dt.datetime | None = None) -> dt.date:
    """Today's date where Search Console counts days."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(PACIFIC).date()


def default_start_date(today: dt.date) -> dt.date:
    """The first day of the month RETENTION_MONTHS ago, clipped into the retention window."""
    month_index = today.year * 12 + (today.month - 1) - RETENTION_MONTHS + 1
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def oldest_retained_date(today: dt.date) -> dt.date:
    """The oldest date Search Console still serves (16 months back)."""
    month_index = today.year * 12 + (today.month - 1) - RETENTION_MONTHS
    year, month = month_index // 12, month_index % 12 + 1
    day = min(today.day, _days_in_month(year, month))
    return dt.date(year, month, day)


def _days_in_month(year: int, month: int) -> int:
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    return (next_month - dt.timedelta(days=1)).day


# URL Inspection's own quota per property (docs/search_console_api.md "Other endpoints").
INSPECTIONS_PER_SITE_PER_DAY = 2_000
INSPECTIONS_PER_SITE_PER_MINUTE = 600
