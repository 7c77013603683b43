"""What can go wrong talking to Search Console, named by the decision it forces.

    SearchConsoleError
    ├── RetryableError                 back off, then try the same work unit again
    │   ├── RateLimitedError           429, or 403 rateLimitExceeded / userRateLimitExceeded / QPS
    quota
    │   ├── LoadQuotaError             403 load quota ("wait 15 minutes" class): pause the site
    │   ├── TokenRejectedError         401 once: refresh the token and retry (a second 401 is
    permanent)
    │   ├── ServerError                500, 502, 503, 504
    │   └── TransportError             timeouts, refused or reset connections
    └── PermanentError                 stop the run; retrying cannot help
        ├── PermissionDeniedError      403 "User does not have sufficient permission for site"
        ├── ApiDisabledError           403 "has not been used in project N before or it is disabled"
        ├── BadRequestError            400 INVALID_ARGUMENT
        ├── AuthenticationError        401 after a refresh, or credentials that cannot be loaded
        └── MalformedResponseError     a 2xx body that is not the documented JSON

Every message names the site (and date when known), what Google said, and what to do.
"""

from __future__ import annotations


class SearchConsoleError(Exception):
    """Base of every error raised by the Search Console layer."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class RetryableError(SearchConsoleError):
    """Transient: the same request may succeed later."""


class RateLimitedError(RetryableError):
    """Queries-per-minute quota hit (429, or its 403 variants)."""


class LoadQuotaError(RetryableError):
    """Load quota hit: Google asks to wait minutes, so the whole site pauses."""


class TokenRejectedError(RetryableError):
    """The access token was rejected once; refresh it and retry."""


class ServerError(RetryableError):
    """Google answered 5xx."""


class TransportError(RetryableError):
    """No usable HTTP answer: timeout, refused or reset connection."""


class PermanentError(SearchConsoleError):
    """Retrying cannot help: the run must stop and say why."""


class PermissionDeniedError(PermanentError):
    """The credential cannot read this property (or the site URL form is wrong)."""


class ApiDisabledError(PermanentError):
    """The Search Console API is not enabled for the credential's Google Cloud project."""


class BadRequestError(PermanentError):
    """Google rejected the request as invalid (400)."""


class AuthenticationError(PermanentError):
    """Credentials missing, unreadable, or rejected even after a refresh."""


class MalformedResponseError(PermanentError):
    """A success status whose body is not the JSON Google documents."""


class FetchCancelledError(PermanentError):
    """The fetch was cancelled (run cancelled, or another unit failed permanently)."""
