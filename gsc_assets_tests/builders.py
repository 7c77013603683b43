"""Test builders: credential files, and a tiny scripted HTTP server for what no simulator sends.

`StubServer` is real HTTP (stdlib `ThreadingHTTPServer` in a thread): tests script the exact
bytes it answers (an HTML 502, truncated JSON, a Retry-After date) and read what it received.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SERVICE_ACCOUNT_EMAIL = "gsc-sync@test-project.iam.gserviceaccount.com"


@functools.cache
def _private_key_pem() -> str:
    # RSA generation takes ~50 ms; one key serves every test.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_key(token_uri: str, *, client_email: str = SERVICE_ACCOUNT_EMAIL) -> dict:
    """A service-account key JSON (as downloaded from the Cloud console) with a real RSA key."""
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": _private_key_pem(),
        "client_email": client_email,
        "client_id": "123456789012345678901",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }


def authorized_user_info(
    *,
    client_id: str = "client-id-123.apps.googleusercontent.com",
    client_secret: str = "client-secret-xyz",
    refresh_token: str = "refresh-token-abc",
) -> dict:
    """An authorized-user JSON, as `gcloud auth application-default login` writes it."""
    return {
        "type": "authorized_user",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }


def write_key_file(tmp_path: Path, info: dict | str, name: str = "credentials.json") -> Path:
    """Write `info` (a dict as JSON, or raw text) to a file and return its path."""
    path = tmp_path / name
    path.write_text(info if isinstance(info, str) else json.dumps(info), encoding="utf-8")
    return path


@dataclass
class Reply:
    """One scripted answer.

    `drop=True` closes the connection without answering; `close=True` closes it after answering
    (so a short body under a larger Content-Length is a truncated transfer, not a hang).
    """

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    close: bool = False
    delay_seconds: float = 0.0

    def payload(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


class StubServer:
    """Answers every request with `responder(received)`; records what it received."""

    def __init__(self, responder: Callable[[Received], Reply]) -> None:
        self.responder = responder
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length),
                    self.client_address[1],
                )
                with stub._lock:
                    stub.received.append(received)
                stub._answer(self, stub.responder(received))

            do_GET = do_POST = _serve

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay_seconds:
            threading.Event().wait(reply.delay_seconds)
        if reply.drop:
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        payload = reply.payload()
        handler.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=UTF-8", **reply.headers}
        headers.setdefault("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
        if reply.close:
            handler.close_connection = True

    def start(self) -> StubServer:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def stub_server(responder: Callable[[Received], Reply] | Reply) -> Iterator[StubServer]:
    """A running `StubServer`; a plain `Reply` is answered to every request."""
    if isinstance(responder, Reply):
        fixed = responder
        responder = lambda _received: fixed  # noqa: E731
    server = StubServer(responder).start()
    try:
        yield server
    finally:
        server.stop()


def token_reply(access_token: str = "stub-access-token", expires_in: int = 3600) -> Reply:
    """A token-endpoint success answer."""
    return Reply(
        200, {"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"}
    )
