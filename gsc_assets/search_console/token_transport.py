"""The HTTP transport google-auth refreshes tokens with: one call, a timeout, no hidden retries."""

from __future__ import annotations

from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests

from gsc_assets.search_console.errors import ServerError, TransportError

TOKEN_REFRESH_TIMEOUT_SECONDS = 30.0
_TRANSIENT_TOKEN_STATUSES = frozenset({408, 429})


class OneShotRequest(google.auth.transport.requests.Request):
    """google-auth's transport with a timeout, failing fast on transient token-endpoint answers.

    google-auth retries 5xx/429 itself, sleeping between tries; raising here instead hands the
    decision to the fetcher's backoff. The raised errors pass through google-auth unchanged.
    """

    def __init__(self, session: requests.Session, *, describe: str) -> None:
        super().__init__(session)
        self._describe = describe

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            response = super().__call__(  # type: ignore[no-untyped-call]
                url,
                method=method,
                body=body,
                headers=headers,
                timeout=timeout or TOKEN_REFRESH_TIMEOUT_SECONDS,
                **kwargs,
            )
        except google.auth.exceptions.TransportError as exc:
            raise TransportError(
                f"could not reach the token endpoint {url} to refresh {self._describe} "
                f"({type(exc.__cause__ or exc).__name__}); retry later"
            ) from None
        if response.status >= 500 or response.status in _TRANSIENT_TOKEN_STATUSES:
            raise ServerError(
                f"the token endpoint {url} answered HTTP {response.status} while refreshing "
                f"{self._describe}; this is usually transient, retry later",
                status=response.status,
            )
        return response
