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
