"""Contract: every non-2xx answer maps to exactly one error class of errors.py
(docs/search_console_api.md table).

The class is the decision (retry vs stop); the message names the work unit, Google's words and
the fix. Bodies are Google's envelope, OAuth-style errors, HTML from a proxy, or nothing.
"""

from __future__ import annotations

import email.utils
import json

import pytest

from gsc_assets.search_console import errors
from gsc_assets.search_console.responses import (
    error_for_status,
    parse_error_body,
    parse_retry_after,
)

CONTEXT = "site 'https://www.example.com/', date 2024-03-01, type web"


def envelope(
    code: int,
    message: str,
    status: str = "",
    reason: str = "",
    domain: str = "global",
    details: list | None = None,
) -> str:
    error: dict = {
        "code": code,
        "message": message,
        "status": status,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error})


RATE_429 = envelope(
    429, "Rate Limit Exceeded", "RESOURCE_EXHAUSTED", "rateLimitExceeded", "usageLimits"
)
QPS_403 = envelope(
    403, "Search Analytics QPS quota exceeded.", "PERMISSION_DENIED", "quotaExceeded", "usageLimits"
)
USER_RATE_403 = envelope(
    403, "User Rate Limit Exceeded", "PERMISSION_DENIED", "userRateLimitExceeded", "usageLimits"
)
LOAD_403 = envelope(
    403,
    "Search Analytics load quota exceeded. Please wait 15 minutes.",
    "PERMISSION_DENIED",
    "quotaExceeded",
    "usageLimits",
)
PERMISSION_403 = envelope(
    403,
    "User does not have sufficient permission for site 'https://www.example.com'. See also: "
    "https://support.google.com/webmasters/answer/2451999.",
    "PERMISSION_DENIED",
    "forbidden",
)
DISABLED_403 = envelope(
    403,
    "Google Search Console API has not been used in project 123456 before or it is disabled. "
    "Enable it by visiting https://console.developers.google.com/apis/api/searchconsole."
    "googleapis.com/overview?project=123456 then retry.",
    "PERMISSION_DENIED",
    "accessNotConfigured",
    "usageLimits",
)
DISABLED_NEW_STYLE_403 = json.dumps(
    {
        "error": {
            "code": 403,
            "message": "Search Console API is disabled for this project.",
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
)
BAD_400 = envelope(400, "Request contains an invalid argument.", "INVALID_ARGUMENT", "badRequest")
UNAUTH_401 = envelope(
    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED", "authError"
)
HTML_502 = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad "
    "Gateway</h1></body></html>"
)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, RATE_429, errors.RateLimitedError),
        (429, "", errors.RateLimitedError),
        (403, QPS_403, errors.RateLimitedError),
        (403, USER_RATE_403, errors.RateLimitedError),
        (
            403,
            envelope(403, "Rate Limit Exceeded", "", "rateLimitExceeded", "usageLimits"),
            errors.RateLimitedError,
        ),
        (403, LOAD_403, errors.LoadQuotaError),
        (
            429,
            envelope(429, "Search Analytics load quota exceeded", "RESOURCE_EXHAUSTED"),
            errors.LoadQuotaError,
        ),
        (403, PERMISSION_403, errors.PermissionDeniedError),
        (403, DISABLED_403, errors.ApiDisabledError),
        (403, DISABLED_NEW_STYLE_403, errors.ApiDisabledError),
        (
            403,
            envelope(403, "The caller does not have permission", "PERMISSION_DENIED"),
            errors.PermissionDeniedError,
        ),
        (403, "<html>Forbidden</html>", errors.PermissionDeniedError),
        (400, BAD_400, errors.BadRequestError),
        (401, UNAUTH_401, errors.TokenRejectedError),
        (404, "Not Found", errors.BadRequestError),
        (408, "", errors.TransportError),
        (500, envelope(500, "Internal error encountered.", "INTERNAL"), errors.ServerError),
        (502, HTML_502, errors.ServerError),
        (
            503,
            envelope(503, "The service is currently unavailable.", "UNAVAILABLE"),
            errors.ServerError,
        ),
        (504, b"", errors.ServerError),
    ],
)
def test_error_for_status_maps_each_case_to_its_decision(status, body, expected):
    error = error_for_status(status, body, context=CONTEXT)
    assert type(error) is expected
    assert error.status == status
    assert CONTEXT in error.message


def test_retryable_and_permanent_sides_of_the_tree():
    retryable = [(429, RATE_429), (403, QPS_403), (403, LOAD_403), (401, UNAUTH_401), (503, "")]
    permanent = [(403, PERMISSION_403), (403, DISABLED_403), (400, BAD_400)]
    for status, body in retryable:
        assert isinstance(error_for_status(status, body, context=CONTEXT), errors.RetryableError)
    for status, body in permanent:
        assert isinstance(error_for_status(status, body, context=CONTEXT), errors.PermanentError)


def test_permission_denied_message_explains_property_form_and_service_account_user():
    error = error_for_status(403, PERMISSION_403, context=CONTEXT)
    assert "sufficient permission for site 'https://www.example.com'" in error.message
    assert "trailing slash" in error.message
    assert "sc-domain:" in error.message
    assert "service account must be added as a user" in error.message


def test_api_disabled_message_says_enable_the_api_in_the_cloud_project():
    error = error_for_status(403, DISABLED_403, context=CONTEXT)
    assert "has not been used in project 123456" in error.message
    assert "Enable the Google Search Console API" in error.message
    assert error.reason == "accessNotConfigured"


def test_bad_request_message_carries_googles_words():
    body = envelope(
        400, "Cannot group by device for search type discover.", "INVALID_ARGUMENT", "badRequest"
    )
    error = error_for_status(400, body, context=CONTEXT)
    assert "INVALID_ARGUMENT: Cannot group by device for search type discover." in error.message
    assert "will fail the same way every time" in error.message


def test_load_quota_message_says_to_pause_the_site():
    error = error_for_status(403, LOAD_403, context=CONTEXT)
    assert "wait 15 minutes" in error.message
    assert "pause this site" in error.message


def test_html_body_is_quoted_as_text_without_tags():
    info = parse_error_body(HTML_502)
    assert info.message == "502 Bad Gateway Bad Gateway"
    assert "Bad Gateway" in error_for_status(502, HTML_502, context=CONTEXT).message


def test_oauth_style_error_body_is_understood():
    info = parse_error_body(b'{"error": "invalid_token", "error_description": "Token expired"}')
    assert info.message == "Token expired"
    assert info.reasons == {"invalid_token"}


def test_garbage_error_bodies_never_raise_while_parsing():
    for body in [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"error": 5}',
        b'{"error": {"errors": "x"}}',
        b"null",
        b'{"error": {"errors": [1, {"reason": 7}]}}',
    ]:
        error = error_for_status(500, body, context=CONTEXT)
        assert isinstance(error, errors.ServerError)


def test_retry_after_seconds_and_http_date_are_parsed():
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 120, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(120.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_header_lands_on_the_error():
    error = error_for_status(429, RATE_429, context=CONTEXT, retry_after="17")
    assert error.retry_after_seconds == 17.0
    assert error_for_status(429, RATE_429, context=CONTEXT).retry_after_seconds is None
