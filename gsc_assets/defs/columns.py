"""What each warehouse column means: the asset's `dagster/column_schema`, and the README's tables.

Column names and types come from `warehouse.schema` (the tables derive from the reports); the
words for each column are here, one sentence each.
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
    "first_date": "first date the page had a row in gsc_page_daily",
    "last_date": "last date the page had a row in gsc_page_daily",
    "days_with_impressions": "number of dates with at least one impression",
    "updated_at": "when this row was last recomputed",
}
LIFETIME_DESCRIPTIONS = {
    "clicks": "all-time sum of the page's daily clicks",
    "impressions": "all-time sum of the page's daily impressions",
    "ctr": "all-time clicks / impressions",
    "position": "all-time impression-weighted average position",
}


def column_description(column: str, *, lifetime: bool = False) -> str:
    """The sentence for `column` (a lifetime aggregate when `lifetime`)."""
    if lifetime and column in LIFETIME_DESCRIPTIONS:
        return LIFETIME_DESCRIPTIONS[column]
    return COLUMN_DESCRIPTIONS.get(column, "")


def table_schema(table: sa.Table, *, lifetime: bool = False) -> dg.TableSchema:
    """Dagster's column schema of `table`, every column with its type and meaning."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=str(column.type).lower(),
                description=column_description(column.name, lifetime=lifetime),
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
