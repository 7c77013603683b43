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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gsc_assets.search_console.errors import AuthenticationError

if TYPE_CHECKING:
    import requests

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
CREDENTIALS_ENV_VAR = "GOOGLE_APPLICATION_CREDENTIALS"


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
    if kind in ("service_account", "authorized_user"):
        # google-auth (and cryptography under it) costs ~0.1 s to import: only when used.
        from gsc_assets.search_console import google_tokens

        build = (
            google_tokens.service_account_provider
            if kind == "service_account"
            else google_tokens.authorized_user_provider
        )
        return build(info, credentials_file, token_uri, session)
    raise file_error(
        credentials_file,
        f'has "type": {kind!r}; expected "service_account" (a key downloaded from the Cloud '
        'console) or "authorized_user" (from `gcloud auth application-default login`)',
    )


def file_error(path: str | Path, problem: str) -> AuthenticationError:
    """The error for a credentials file that cannot be used, naming the file and the fix."""
    return AuthenticationError(
        f"{CREDENTIALS_ENV_VAR} file {str(path)!r} {problem}; point {CREDENTIALS_ENV_VAR} at a "
        "valid service-account key or authorized-user JSON file"
    )


def _read_credentials_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise file_error(path, "does not exist") from None
    except IsADirectoryError:
        raise file_error(path, "is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(path, f"cannot be read ({type(exc).__name__})") from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        # Only the position: the text around it may be a private key.
        raise file_error(path, f"is not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(info, dict):
        raise file_error(path, f"holds a JSON {type(info).__name__}, not an object")
    return info


def require_fields(info: dict[str, Any], fields: tuple[str, ...], path: str, kind: str) -> None:
    """Raise `file_error` naming every one of `fields` that `info` lacks."""
    missing = [f for f in fields if not isinstance(info.get(f), str) or not info[f]]
    if missing:
        raise file_error(path, f"is a {kind} file missing {', '.join(missing)}")
