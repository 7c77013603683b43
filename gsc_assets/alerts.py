"""Alerts: what failed, for which site and date, the numbers, and a link to the run.

Every alert is logged; when GSC_ALERT_WEBHOOK_URL is set it is also POSTed as JSON in Slack's
incoming-webhook shape (`text` for notifications and plain receivers, `blocks` for Slack).
Delivery raises AlertDeliveryError on any failure, so the sensors can stop and retry the same
alert on their next tick instead of skipping it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

WEBHOOK_TIMEOUT_SECONDS = 10.0
MAX_NUMBERS = 12  # a chat message, not a report: the metadata holds everything

logger = logging.getLogger("gsc_assets.alerts")


class AlertDeliveryError(RuntimeError):
    """The webhook did not accept an alert (transport error or non-2xx answer)."""


@dataclass(frozen=True)
class Alert:
    """One failure worth a person's attention."""

    title: str
    summary: str
    run_id: str | None = None
    sites: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    numbers: Mapping[str, int | float] = field(default_factory=dict)


def run_url(webserver_url: str | None, run_id: str | None) -> str | None:
    """The run's page in the Dagster UI, when the UI's address is known."""
    if not webserver_url or not run_id:
        return None
    return f"{webserver_url.rstrip('/')}/runs/{run_id}"


def numbers_from(metadata: Mapping[str, Any]) -> dict[str, int | float]:
    """The plain numbers among metadata values (the figures a check compared)."""
    numbers: dict[str, int | float] = {}
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            numbers[key] = raw
        if len(numbers) == MAX_NUMBERS:
            break
    return numbers


def alert_text(alert: Alert, webserver_url: str | None) -> str:
    """The alert as one plain-text message (also the log line)."""
    parts = [f"{alert.title}: {alert.summary}"]
    if alert.sites:
        parts.append(f"site: {', '.join(alert.sites)}")
    if alert.dates:
        parts.append(f"date: {_date_span(alert.dates)}")
    if alert.numbers:
        parts.append(", ".join(f"{key}={_number(value)}" for key, value in alert.numbers.items()))
    link = run_url(webserver_url, alert.run_id)
    if link:
        parts.append(f"run: {link}")
    elif alert.run_id:
        parts.append(f"run id: {alert.run_id}")
    return " | ".join(parts)


def slack_payload(alert: Alert, webserver_url: str | None) -> dict[str, Any]:
    """The webhook body: Slack's `text` + `blocks`, plus the alert's fields for other receivers."""
    link = run_url(webserver_url, alert.run_id)
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_number(v)}"} for k, v in alert.numbers.items()]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{alert.title}*\n{alert.summary}"}}
    ]
    context = [f"site: {', '.join(alert.sites)}"] if alert.sites else []
    if alert.dates:
        context.append(f"date: {_date_span(alert.dates)}")
    if link:
        context.append(f"<{link}|open the run>")
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
        )
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})  # Slack allows 10 fields
    return {
        "text": alert_text(alert, webserver_url),
        "blocks": blocks,
        "alert": {
            "title": alert.title,
            "summary": alert.summary,
            "sites": list(alert.sites),
            "dates": list(alert.dates),
            "numbers": dict(alert.numbers),
            "run_id": alert.run_id,
            "run_url": link,
        },
    }


def send_alert(
    alert: Alert,
    *,
    webhook_url: str | None,
    webserver_url: str | None,
    session: requests.Session | None = None,
) -> None:
    """Log the alert; POST it to `webhook_url` when set. Raises AlertDeliveryError on failure."""
    logger.error("ALERT %s", alert_text(alert, webserver_url))
    if not webhook_url:
        return
    poster = session or requests
    try:
        response = poster.post(
            webhook_url, json=slack_payload(alert, webserver_url), timeout=WEBHOOK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise AlertDeliveryError(f"alert webhook unreachable: {type(exc).__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise AlertDeliveryError(f"alert webhook answered HTTP {response.status_code}")


def _date_span(dates: tuple[str, ...]) -> str:
    ordered = sorted(dates)
    return (
        ordered[0] if len(ordered) == 1 else f"{ordered[0]} .. {ordered[-1]} ({len(ordered)} days)"
    )


def _number(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}"
