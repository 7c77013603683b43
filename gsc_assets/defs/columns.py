"""What each warehouse column means: the assets' `dagster/column_schema`, and docs/tables.md.

Column names and types come from the tables (`warehouse.schema`, `warehouse.inventory`; report
tables derive from the reports); the words for each column are here, one sentence each: a
column's meaning shared by every table that has it, or the table's own where it differs.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from gsc_assets.reports.report import Report

COLUMN_DESCRIPTIONS: dict[str, str] = {
    "site_url": "Search Console property, exactly as registered (`https://www.example.com/` or "
    "`sc-domain:example.com`)",
    "date": "the day, in Pacific Time as Search Console counts days",
    "search_type": "web, image, video, news, discover or googleNews",
    "hour": "the hour as Google keys it, e.g. `2025-04-07T00:00:00-07:00` (Pacific)",
    "page": "the page URL Google reports (canonical URL of the result)",
    "query": "the search query (anonymized queries are never rows)",
    "country": "ISO 3166-1 alpha-3 country code, lower case (`usa`)",
    "device": "DESKTOP, MOBILE or TABLET",
    "search_appearance": "the search appearance (rich result type), e.g. AMP_BLUE_LINK",
    "clicks": "clicks from Google Search results, as Google returned them",
    "impressions": "times a result was shown, as Google returned them",
    "ctr": "click-through rate Google computed (clicks / impressions, 0..1)",
    "position": "average position Google computed (1 = top; NULL for discover and googleNews)",
    "is_complete": "false while Google may still change the hour (from first_incomplete_hour on)",
}
LIFETIME_DESCRIPTIONS = {
    "clicks": "all-time sum of the page's daily clicks",
    "impressions": "all-time sum of the page's daily impressions",
    "ctr": "all-time clicks / impressions (NULL without impressions)",
    "position": "all-time impression-weighted average position (NULL when no day had one)",
    "first_date": "first date with impressions in gsc_page_daily",
    "last_date": "last date with impressions in gsc_page_daily",
    "days_with_impressions": "number of dates with at least one impression",
    "updated_at": "when this row was last recomputed (UTC)",
}
_FETCHED = (
    "over the rows fetched, which the stored rows must keep (check rows_match_sync_log); NULL in "
    "rows from older releases"
)
SYNC_LOG_DESCRIPTIONS = {
    "id": "entry number, increasing: the highest per site_url, date, search_type and report is "
    "the slice's current state, lower ones are history",
    "report": "the report written: a built-in report's name (site, page, ...) or a custom one's",
    "rows_fetched": "rows Google returned for the slice",
    "rows_stored": "rows written to the report's table for the slice",
    "requests": "Search Analytics requests made; a request covering several dates counts on its "
    "first date, 0 on the others",
    "retries": "requests repeated after a transient error or throttling, counted like requests",
    "throttled": "429 / 403 rate-limit answers among the requests, counted like requests (NULL "
    "in rows from older releases)",
    "pages": "result pages (up to 25,000 rows each) Google returned, counted like requests",
    "data_state": "the dataState asked for: final, all or hourly_all",
    "is_final": "true once the date can no longer change; non-final dates are fetched again",
    "first_incomplete_date": "Google's metadata.first_incomplete_date: data from this date on "
    "may still change (NULL when Google sent none)",
    "truncated": "true when the day reached Google's 50,000-row cap, so its tail was dropped",
    "run_id": "the Dagster run that wrote the entry (NULL when written outside a run)",
    "synced_at": "when the slice was written (UTC)",
    "status": "synced, or not_offered: Google offers no such data (no request, no rows); NULL "
    "in rows from older releases",
    "sum_clicks": f"sum of clicks {_FETCHED}",
    "sum_impressions": f"sum of impressions {_FETCHED}",
    "sum_ctr": f"sum of ctr {_FETCHED}",
    "sum_position": f"sum of the non-NULL positions {_FETCHED}",
}
TOTALS_DESCRIPTIONS = {
    "report": "the report whose rows these totals reconcile (e.g. page)",
    "aggregation_type": "how Google aggregated the totals: byPage or byProperty",
    "clicks": "Google's total clicks of the day (0 when Google had no data)",
    "impressions": "Google's total impressions of the day (0 when Google had no data)",
    "ctr": "Google's click-through rate of the day's totals (0 when Google had no data)",
    "position": "Google's average position of the day's totals (NULL when there is none)",
    "fetched_at": "when the totals were written (UTC), in the same transaction as their rows",
}
_SNAPSHOT = {"snapshot_date": "the Pacific date of the daily snapshot"}
_SITEMAP = {"path": "the sitemap's URL"}
INVENTORY_DESCRIPTIONS = {
    "gsc_sites": {
        **_SNAPSHOT,
        "permission_level": "siteOwner, siteFullUser, siteRestrictedUser or siteUnverifiedUser "
        "(reads no data); NULL when the credential cannot see the property",
        "visible": "true when the credential can see the property",
        "configured": "true when the property is in GSC_SITES",
    },
    "gsc_sitemaps": {
        **_SNAPSHOT,
        **_SITEMAP,
        "type": "the sitemap's type as Google names it (sitemap, rssFeed, atomFeed, urlList, ...)",
        "is_pending": "true while Google has not finished processing the sitemap",
        "is_sitemaps_index": "true for a sitemap index (a sitemap of sitemaps)",
        "last_submitted": "when the sitemap was last submitted to Google (UTC)",
        "last_downloaded": "when Google last downloaded the sitemap (UTC)",
        "warnings": "warnings Google found in the sitemap",
        "errors": "errors Google found in the sitemap (check sitemaps_have_no_errors)",
    },
    "gsc_sitemap_contents": {
        **_SNAPSHOT,
        **_SITEMAP,
        "content_type": "the kind of URLs counted: web, image, video, news, ...",
        "submitted": "URLs of this content type the sitemap lists",
        "indexed": "of those, URLs Google reports indexed (NULL when Google does not say)",
    },
    "gsc_url_inspection": {
        "page": "the inspected page URL (a page of gsc_page_daily)",
        "inspection_date": "the Pacific date of the inspection",
        "verdict": "Google's overall index verdict: PASS, PARTIAL, FAIL or NEUTRAL",
        "coverage_state": "e.g. Submitted and indexed, Crawled - currently not indexed",
        "indexing_state": "whether indexing is allowed, e.g. INDEXING_ALLOWED, BLOCKED_BY_META_TAG",
        "robots_txt_state": "whether robots.txt allows the page: ALLOWED or DISALLOWED",
        "page_fetch_state": "how Google's last fetch went, e.g. SUCCESSFUL, SOFT_404, NOT_FOUND",
        "last_crawl_time": "when Google last crawled the page (UTC)",
        "google_canonical": "the canonical URL Google chose",
        "user_canonical": "the canonical URL the page declares",
        "crawled_as": "the user agent of the last crawl: MOBILE or DESKTOP",
        "inspection_link": "the page's report in the Search Console UI",
        "inspected_at": "when the inspection was stored (UTC)",
    },
}
# A table's own words for a column, where they differ from COLUMN_DESCRIPTIONS.
TABLE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "gsc_page_lifetime": LIFETIME_DESCRIPTIONS,
    "gsc_sync_log": SYNC_LOG_DESCRIPTIONS,
    "gsc_api_totals": TOTALS_DESCRIPTIONS,
    **INVENTORY_DESCRIPTIONS,
}


def column_description(column: str, *, table: str = "", lifetime: bool = False) -> str:
    """The sentence for `column` of `table` (of gsc_page_lifetime when `lifetime`)."""
    own = TABLE_DESCRIPTIONS.get("gsc_page_lifetime" if lifetime else table, {})
    return own.get(column) or COLUMN_DESCRIPTIONS.get(column, "")


def sql_type(column: sa.Column) -> str:
    """The column's type as a user querying the warehouse names it (PostgreSQL's words)."""
    kind = column.type
    # Subclasses first: DateTime is not a Date, but BigInteger is an Integer.
    for python_type, name in (
        (sa.Boolean, "BOOLEAN"),
        (sa.DateTime, "TIMESTAMP"),
        (sa.Date, "DATE"),
        (sa.BigInteger, "BIGINT"),
        (sa.Integer, "INTEGER"),
        (sa.Float, "DOUBLE"),
        (sa.Text, "TEXT"),
    ):
        if isinstance(kind, python_type):
            return name
    raise ValueError(f"column {column.name!r}: no documented name for type {kind!r}")


def table_schema(table: sa.Table, *, lifetime: bool = False) -> dg.TableSchema:
    """Dagster's column schema of `table`, every column with its type and meaning."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=sql_type(column),
                description=column_description(column.name, table=table.name, lifetime=lifetime),
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable)),
            )
            for column in table.columns
        ]
    )


def describe_report(report: Report) -> str:
    """One paragraph on what the report's table holds and how it is kept."""
    what = report.description[:1].upper() + report.description[1:]
    kept = (
        "The last days are kept hour by hour, each day replaced in one transaction."
        if report.is_hourly
        else "Each Pacific-Time date is replaced in one transaction for every site and search "
        "type, so re-running it never duplicates a row or leaves a stale one."
    )
    return (
        f"{what}, from Google Search Console (aggregated {report.aggregation_type.value}). {kept} "
        "Reports with a documented reconciliation are audited against Google's own totals "
        "before they are published."
    )
