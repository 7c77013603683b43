"""Credentials -> `Authorization: Bearer ...` headers, refreshed when they expire.

Three sources (docs/search_console_api.md "Auth"):
- a service-account key JSON (type=service_account): google-auth signs a JWT and POSTs it to the
  key's `token_uri`;
- an authorized-user JSON (type=authorized_user, an OAuth refresh token): google-auth's
  `from_authorized_user_info` ignores a `token_uri` in the file, so we build the credentials
  ourselves to be able to point them elsewhere (a simulator, a proxy);
- a static access token (no refresh possible).

Every refresh makes exactly one HTTP call: transient token-endpoint failures raise
`ServerError` / `TransportError` at once, so the fetcher's backoff (not google-auth's hidden
sleeping retry loop) decides when to try again. No secret (token, private key, refresh token,
client secret) ever appears in a repr, an exception or a log line.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Protocol

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from gsc_assets.search_console.errors import AuthenticationError
from gsc_assets.search_console.models import SCOPE_READONLY
from gsc_assets.search_console.token_transport import OneShotRequest

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
CREDENTIALS_ENV_VAR = "GOOGLE_APPLICATION_CREDENTIALS"
# Token-endpoint answers that mean "try again later", not "these credentials are bad".
_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_AUTHORIZED_USER_FIELDS = ("client_id", "client_secret", "refresh_token")


class TokenProvider(Protocol):
    """Where the client gets its `Authorization` header from."""

    @property
    def identity(self) -> str:
        """The quota identity: client_email, client_id, or "token:<sha256[:12]>"."""
        ...

    def authorization_header(self) -> str:
        """`Bearer <token>`; thread-safe; refreshes first when the token is missing or expired."""
        ...

    def invalidate(self) -> None:
        """Make the next `authorization_header()` fetch a new token (after a 401)."""
        ...


class StaticTokenProvider:
    """A fixed access token: cannot be refreshed, so `invalidate()` changes nothing."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token
        self._identity = "token:" + hashlib.sha256(access_token.encode()).hexdigest()[:12]

    @property
    def identity(self) -> str:
        """See `TokenProvider.identity`."""
        return self._identity

    def authorization_header(self) -> str:
        """See `TokenProvider.authorization_header`."""
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """Nothing to refresh: a rejected static token stays rejected."""

    def __repr__(self) -> str:
        return f"StaticTokenProvider(identity={self._identity!r})"


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


def load_token_provider(
    *,
    credentials_file: str | None,
    access_token: str | None,
    token_uri: str | None = None,
    session: requests.Session | None = None,
) -> TokenProvider:
    """Build the token provider for a credentials file or a static access token.

    A static `access_token` wins when both are given (it is the explicit, narrower choice).
    `token_uri`, when given, overrides the token endpoint of either file type (tests and
    proxies); otherwise a service-account key uses its own `token_uri` and an authorized user
    Google's. Raises `AuthenticationError` naming the file and what is wrong with it.
    """
    if access_token:
        return StaticTokenProvider(access_token)
    if not credentials_file:
        raise AuthenticationError(
            f"no Google credentials configured: set {CREDENTIALS_ENV_VAR} to the path of a "
            "service-account key or authorized-user JSON file, or provide an access token"
        )
    info = _read_credentials_file(Path(credentials_file))
    kind = info.get("type")
    if kind == "service_account":
        return _service_account_provider(info, credentials_file, token_uri, session)
    if kind == "authorized_user":
        return _authorized_user_provider(info, credentials_file, token_uri, session)
    raise _file_error(
        credentials_file,
        f'has "type": {kind!r}; expected "service_account" (a key downloaded from the Cloud '
        'console) or "authorized_user" (from `gcloud auth application-default login`)',
    )


def _file_error(path: str | Path, problem: str) -> AuthenticationError:
    return AuthenticationError(
        f"{CREDENTIALS_ENV_VAR} file {str(path)!r} {problem}; point {CREDENTIALS_ENV_VAR} at a "
        "valid service-account key or authorized-user JSON file"
    )


def _read_credentials_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _file_error(path, "does not exist") from None
    except IsADirectoryError:
        raise _file_error(path, "is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _file_error(path, f"cannot be read ({type(exc).__name__})") from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        # Only the position: the text around it may be a private key.
        raise _file_error(path, f"is not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(info, dict):
        raise _file_error(path, f"holds a JSON {type(info).__name__}, not an object")
    return info


def _require_fields(info: dict[str, Any], fields: tuple[str, ...], path: str, kind: str) -> None:
    missing = [f for f in fields if not isinstance(info.get(f), str) or not info[f]]
    if missing:
        raise _file_error(path, f"is a {kind} file missing {', '.join(missing)}")


def _service_account_provider(
    info: dict[str, Any], path: str, token_uri: str | None, session: requests.Session | None
) -> GoogleTokenProvider:
    _require_fields(info, _SERVICE_ACCOUNT_FIELDS, path, "service-account key")
    if token_uri:
        info = {**info, "token_uri": token_uri}
    try:
        from_info = service_account.Credentials.from_service_account_info
        creds = from_info(info, scopes=[SCOPE_READONLY])  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, IndexError, google.auth.exceptions.GoogleAuthError):
        # The library's text may quote the key material; say only what is wrong.
        raise _file_error(
            path, "is a service-account key whose private_key is not a valid PEM RSA key"
        ) from None
    return GoogleTokenProvider(
        creds,
        identity=info["client_email"],
        source=f"service-account key {path!r}",
        secrets=(info["private_key"],),
        session=session,
    )


def _authorized_user_provider(
    info: dict[str, Any], path: str, token_uri: str | None, session: requests.Session | None
) -> GoogleTokenProvider:
    _require_fields(info, _AUTHORIZED_USER_FIELDS, path, "authorized-user")
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
