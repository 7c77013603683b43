"""Google's JSON error envelope and the exact bodies of the errors the simulator answers.

Shape (docs/search_console_api.md "Errors"): `{"error": {"code", "message", "status", "errors":
[{"message",
"domain", "reason"}]}}`. Messages are Google's words, because clients (and their users) classify
errors by them: a permission 403 must never look like a quota 403.
"""

from __future__ import annotations

from typing import Any

PERMISSION_HELP = "See also: https://support.google.com/webmasters/answer/2451999."
UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
QPS_QUOTA_MESSAGE = "Search Analytics QPS quota exceeded"
LOAD_QUOTA_MESSAGE = (
    "Search Analytics load quota exceeded. Please wait 15 minutes before sending more requests."
)


def google_error(
    code: int,
    status: str,
    message: str,
    *,
    reason: str,
    domain: str = "global",
    item_message: str | None = None,
    **item_extra: str,
) -> dict[str, Any]:
    """One error body in Google's envelope."""
    item = {"message": item_message or message, "domain": domain, "reason": reason, **item_extra}
    return {"error": {"code": code, "message": message, "errors": [item], "status": status}}


def bad_request(message: str) -> dict[str, Any]:
    """400 INVALID_ARGUMENT."""
    return google_error(400, "INVALID_ARGUMENT", message, reason="badRequest")


def unauthenticated() -> dict[str, Any]:
    """401 for a missing, unknown or expired bearer token (send WWW_AUTHENTICATE with it)."""
    return google_error(
        401,
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE,
        reason="authError",
        item_message="Invalid Credentials",
        location="Authorization",
        locationType="header",
    )


def permission_denied(site_url: str) -> dict[str, Any]:
    """403 for a site the caller cannot see, including a wrongly spelled property."""
    message = f"User does not have sufficient permission for site '{site_url}'. {PERMISSION_HELP}"
    return google_error(403, "PERMISSION_DENIED", message, reason="forbidden")


def api_disabled(project_number: int) -> dict[str, Any]:
    """403 when the Cloud project has not enabled the API."""
    url = (
        "https://console.developers.google.com/apis/api/searchconsole.googleapis.com/"
        f"overview?project={project_number}"
    )
    message = (
        f"Google Search Console API has not been used in project {project_number} before or it "
        f"is disabled. Enable it by visiting {url} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry."
    )
    return google_error(
        403,
        "PERMISSION_DENIED",
        message,
        reason="accessNotConfigured",
        domain="usageLimits",
        extendedHelp="https://console.developers.google.com",
    )


def rate_limited(
    project_number: int, limit_name: str, metric: str = "Search Analytics queries"
) -> dict[str, Any]:
    """429: a quota is spent (Search Analytics per site or user; URL Inspection per site)."""
    message = (
        f"Quota exceeded for quota metric '{metric}' and limit "
        f"'{limit_name}' of service 'searchconsole.googleapis.com' for consumer "
        f"'project_number:{project_number}'."
    )
    return google_error(
        429,
        "RESOURCE_EXHAUSTED",
        message,
        reason="rateLimitExceeded",
        domain="usageLimits",
        item_message="Rate Limit Exceeded",
    )


def qps_quota_403() -> dict[str, Any]:
    """The 403 variant of the QPS quota error (older front ends answer it this way)."""
    return google_error(
        403, "PERMISSION_DENIED", QPS_QUOTA_MESSAGE, reason="quotaExceeded", domain="usageLimits"
    )


def load_quota_403() -> dict[str, Any]:
    """403 for the short-term load quota: the caller must pause for minutes, not seconds."""
    return google_error(
        403, "PERMISSION_DENIED", LOAD_QUOTA_MESSAGE, reason="quotaExceeded", domain="usageLimits"
    )


def server_error(code: int) -> dict[str, Any]:
    """500 INTERNAL or 503 UNAVAILABLE."""
    if code == 503:
        return google_error(
            503, "UNAVAILABLE", "The service is currently unavailable.", reason="backendError"
        )
    return google_error(500, "INTERNAL", "Internal error encountered.", reason="backendError")


def not_found(path: str) -> dict[str, Any]:
    """404 for a path the API does not have."""
    return google_error(
        404,
        "NOT_FOUND",
        f"The requested URL {path} was not found on this server.",
        reason="notFound",
    )
