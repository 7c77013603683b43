"""OAuth 2 as Google's token endpoint does it, minus the cryptography.

`POST /token` (form-encoded) supports the two grants google-auth uses (docs/search_console_api.md
"Auth"):
- `urn:ietf:params:oauth:grant-type:jwt-bearer` with a service account's signed JWT: the payload
  is decoded WITHOUT verifying the signature (a test key is as good as a real one); `iss` is the
  identity and `scope` must name a webmasters scope;
- `refresh_token` with client_id, client_secret and refresh_token: the identity is client_id.
Issued tokens expire after the configured TTL; configured static tokens never expire and are their
own identity. Errors use OAuth's `{"error", "error_description"}` body, not Google's API envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from typing import Any

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
REQUIRED_SCOPE_WORD = "webmasters"  # .../auth/webmasters or .../auth/webmasters.readonly
JWT_CLOCK_SKEW_SECONDS = 300


class OAuthError(Exception):
    """A token request Google's endpoint would refuse with 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The OAuth 2 error body."""
        return {"error": self.error, "error_description": self.description}


def decode_jwt_payload(assertion: str) -> dict[str, Any]:
    """The claims of a compact JWT, signature ignored."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "Invalid JWT: not a compact JWS (header.payload.sig)")
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_grant", "Invalid JWT: payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "Invalid JWT: payload is not an object")
    return claims


def identity_for_grant(form: dict[str, str], now: float) -> str:
    """Validate a token request; return the identity the token will carry."""
    grant = form.get("grant_type", "")
    if grant == JWT_BEARER_GRANT:
        claims = decode_jwt_payload(form.get("assertion", ""))
        issuer, scope = claims.get("iss"), claims.get("scope", "")
        if not isinstance(issuer, str) or not issuer:
            raise OAuthError("invalid_grant", "Invalid JWT: missing iss claim")
        if not isinstance(scope, str) or REQUIRED_SCOPE_WORD not in scope:
            raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires < now - JWT_CLOCK_SKEW_SECONDS:
            raise OAuthError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token "
                "(60 minutes) and in a reasonable timeframe.",
            )
        return issuer
    if grant == REFRESH_GRANT:
        missing = [k for k in ("client_id", "client_secret", "refresh_token") if not form.get(k)]
        if missing:
            raise OAuthError("invalid_request", f"Missing required parameter: {missing[0]}")
        return form["client_id"]
    raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")


class TokenRegistry:
    """Issued access tokens and their expiry (wall-clock seconds, like OAuth's expires_in)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, identity: str, ttl_seconds: float, now: float | None = None) -> str:
        """A new bearer token for `identity`, valid for `ttl_seconds`."""
        token = "ya29.sim-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (identity, (now or time.time()) + ttl_seconds)
        return token

    def identity(
        self, token: str, static_tokens: tuple[str, ...], now: float | None = None
    ) -> str | None:
        """Who `token` belongs to, or None when it is unknown or expired."""
        if token in static_tokens:
            return token
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= (now or time.time()):
            return None
        return entry[0]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
