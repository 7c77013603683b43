"""google-auth credentials (service-account key, authorized user) as a `TokenProvider`.

Imported only when a credentials file is configured: google-auth and cryptography cost about
0.1 s of start-up that a static token (the simulator, CI) does not need. See `credentials`.
"""

from __future__ import annotations

import threading
from typing import Any

import google.auth.exceptions
import requests
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from gsc_assets.search_console.credentials import (
    CREDENTIALS_ENV_VAR,
    GOOGLE_TOKEN_URI,
    file_error,
    require_fields,
)
from gsc_assets.search_console.errors import AuthenticationError
from gsc_assets.search_console.models import SCOPE_READONLY
from gsc_assets.search_console.token_transport import OneShotRequest

_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_AUTHORIZED_USER_FIELDS = ("client_id", "client_secret", "refresh_token")


class GoogleTokenProvider:
    """google-auth credentials (service account or authorized user), refreshed under a lock."""

    def __init__(
        self,
        credentials: Any,
        *,
        identity: str,
        source: str,
        secrets: tuple[str, ...],
        session: requests.Session | None = None,
    ) -> None:
        self._credentials = credentials
        self._identity = identity
        self._source = source
        self._secrets = tuple(s for s in secrets if s)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._request = OneShotRequest(self._session, describe=f"the token of {identity}")
        self._lock = threading.Lock()
        self._stale = False

    @property
    def identity(self) -> str:
        """See `TokenProvider.identity`."""
        return self._identity

    def authorization_header(self) -> str:
        """See `TokenProvider.authorization_header`."""
        with self._lock:
            if self._stale or not self._credentials.valid:
                self._refresh()
            return f"Bearer {self._credentials.token}"

    def invalidate(self) -> None:
        """See `TokenProvider.invalidate`."""
        with self._lock:
            self._stale = True

    def close(self) -> None:
        """Close the token session if this provider created it."""
        if self._owns_session:
            self._session.close()

    def _refresh(self) -> None:
        try:
            self._credentials.refresh(self._request)
        except google.auth.exceptions.RefreshError as exc:
            raise AuthenticationError(self._refresh_rejected_message(exc)) from None
        except google.auth.exceptions.GoogleAuthError as exc:
            raise AuthenticationError(
                f"cannot refresh the access token of {self._identity} from {self._source}: "
                f"{self._redact(str(exc))}"
            ) from None
        self._stale = False

    def _refresh_rejected_message(self, exc: google.auth.exceptions.RefreshError) -> str:
        said = self._redact(str(exc.args[0]) if exc.args else str(exc))[:300]
        return (
            f"the token endpoint refused to issue an access token for {self._identity} "
            f"({self._source}): {said}. The credentials are revoked, expired or wrong: create a "
            f"new key / refresh token and point {CREDENTIALS_ENV_VAR} at it"
        )

    def _redact(self, text: str) -> str:
        # Error texts come from google-auth and the token endpoint: never let a secret through.
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def __repr__(self) -> str:
        return f"GoogleTokenProvider(identity={self._identity!r}, source={self._source!r})"


def service_account_provider(
    info: dict[str, Any], path: str, token_uri: str | None, session: requests.Session | None
) -> GoogleTokenProvider:
    """The provider for a service-account key file's `info`."""
    require_fields(info, _SERVICE_ACCOUNT_FIELDS, path, "service-account key")
    if token_uri:
        info = {**info, "token_uri": token_uri}
    try:
        from_info = service_account.Credentials.from_service_account_info
        creds = from_info(info, scopes=[SCOPE_READONLY])  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, IndexError, google.auth.exceptions.GoogleAuthError):
        # The library's text may quote the key material; say only what is wrong.
        raise file_error(
            path, "is a service-account key whose private_key is not a valid PEM RSA key"
        ) from None
    return GoogleTokenProvider(
        creds,
        identity=info["client_email"],
        source=f"service-account key {path!r}",
        secrets=(info["private_key"],),
        session=session,
    )


def authorized_user_provider(
    info: dict[str, Any], path: str, token_uri: str | None, session: requests.Session | None
) -> GoogleTokenProvider:
    """The provider for an authorized-user file's `info` (a refresh token)."""
    require_fields(info, _AUTHORIZED_USER_FIELDS, path, "authorized-user")
    creds = user_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=info["refresh_token"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        token_uri=token_uri or GOOGLE_TOKEN_URI,
        scopes=[SCOPE_READONLY],
    )
    return GoogleTokenProvider(
        creds,
        identity=info["client_id"],
        source=f"authorized-user file {path!r}",
        secrets=(info["refresh_token"], info["client_secret"]),
        session=session,
    )
