"""A Search Console over real HTTP, in a thread: `running_simulator()` and `Simulator`.

Binds 127.0.0.1 only. HTTP/1.1 with keep-alive (clients pool connections); one daemon thread per
connection. Admin endpoints for other processes: `GET /_sim/stats`, `POST /_sim/reset`,
`POST /_sim/config` (partial JSON config), `POST /_sim/mutate` ({site_url, date, search_type}).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from gsc_assets.simulator.app import SimulatorApp
from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.request import QuerySpec
from gsc_assets.simulator.routing import Answer, json_answer

HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: thousands of lines per benchmark are noise."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header on the simulated clock, as Google's servers date answers on theirs."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return email.utils.format_datetime(self.server.app.now().astimezone(dt.UTC), usegmt=True)

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        app = self.server.app
        if path.startswith("/_sim/"):
            answer = _admin(app, method, path, body)
        else:
            answer = app.handle(method, path, self.headers, body)
        try:
            self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its timeout); nothing is left to answer.
            self.close_connection = True

    def _send(self, answer: Answer) -> None:
        if answer.drop:
            self.close_connection = True
            # Shut the socket so the client sees EOF now, not after its timeout.
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of pooled connections must not be refused

    def __init__(self, port: int, app: SimulatorApp) -> None:
        self.app = app
        super().__init__((HOST, port), _Handler)


def _admin(app: SimulatorApp, method: str, path: str, body: bytes) -> Answer:
    try:
        payload = json.loads(body) if body else {}
        if (method, path) == ("GET", "/_sim/stats"):
            return json_answer(200, app.stats.snapshot(app.config.quota_window_seconds))
        if (method, path) == ("POST", "/_sim/reset"):
            app.reset()
            return json_answer(200, {"reset": True})
        if (method, path) == ("POST", "/_sim/config"):
            return json_answer(200, config_as_json(app.configure(payload)))
        if (method, path) == ("POST", "/_sim/mutate"):
            revision = app.service.mutate_day(
                payload["site_url"],
                dt.date.fromisoformat(payload["date"]),
                payload.get("search_type", "web"),
            )
            return json_answer(200, {"revision": revision})
    except (ValueError, KeyError, TypeError) as exc:
        return json_answer(400, {"error": f"{type(exc).__name__}: {exc}"})
    return json_answer(404, {"error": f"no admin endpoint {method} {path}"})


def config_as_json(config: SimulatorConfig) -> dict[str, Any]:
    """The configuration as JSON-able values (dates as ISO strings)."""
    values = dataclasses.asdict(config)
    values["today"] = config.today.isoformat() if config.today else None
    values["refuse_dates"] = [d.isoformat() for d in config.refuse_dates]
    return values


class Simulator:
    """A running simulator and its Python control surface (mirrors the admin endpoints)."""

    def __init__(self, config: SimulatorConfig | None = None, port: int = 0) -> None:
        self.app = SimulatorApp(config or SimulatorConfig())
        self._server = _Server(port, self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"gsc-simulator-{self.port}",
        )

    @property
    def port(self) -> int:
        """The TCP port bound on 127.0.0.1."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Use as the API base: `{base_url}/webmasters/v3/...`."""
        return f"http://{HOST}:{self.port}"

    @property
    def token_uri(self) -> str:
        """Put this in a service-account key's `token_uri`."""
        return f"{self.base_url}/token"

    @property
    def sites(self) -> tuple[str, ...]:
        """The simulated properties, as registered."""
        return tuple(spec.site_url for spec in self.app.config.sites)

    @property
    def config(self) -> SimulatorConfig:
        """The configuration in force."""
        return self.app.config

    def start(self) -> Simulator:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def stats(self) -> dict[str, Any]:
        """Same JSON as `GET /_sim/stats`."""
        return self.app.stats.snapshot(self.app.config.quota_window_seconds)

    def inspections(self) -> dict[str, int]:
        """URL inspections answered (within quota), per property."""
        return dict(self.app.inspections)

    def reset_stats(self) -> None:
        """Forget statistics and quota windows."""
        self.app.reset()

    def configure(self, **changes: Any) -> SimulatorConfig:
        """Change the running configuration (faults, quotas, latency, today, access, ...)."""
        return self.app.configure(changes)

    def today(self) -> dt.date:
        """The simulated current date (Pacific Time)."""
        return self.app.today()

    def mutate_day(self, site_url: str, date: dt.date, search_type: str = "web") -> int:
        """Restate a day (pages vanish and appear, numbers change); returns its new revision."""
        return self.app.service.mutate_day(site_url, date, search_type)

    def expected_rows(
        self,
        site_url: str,
        date: dt.date,
        search_type: str = "web",
        dimensions: Sequence[str] = ("date",),
        aggregation_type: str = "auto",
        data_state: str = "final",
    ) -> list[tuple[Any, ...]]:
        """What the API returns for one day, all pages concatenated, as row tuples.

        Each row is `(*keys, clicks, impressions, ctr, position)` with keys in `dimensions`
        order (dates as "YYYY-MM-DD") and position None for discover / googleNews.
        """
        from gsc_assets.simulator.request import parse_query

        spec: QuerySpec = parse_query(
            {
                "startDate": date.isoformat(),
                "endDate": date.isoformat(),
                "dimensions": list(dimensions),
                "type": search_type,
                "aggregationType": aggregation_type,
                "dataState": data_state,
            }
        )
        published = self.app.published_through()
        return self.app.service.result(
            site_url, spec, self.today(), published_through=published
        ).rows

    def totals(
        self,
        site_url: str,
        date: dt.date,
        search_type: str = "web",
        aggregation_type: str = "byProperty",
        data_state: str = "final",
    ) -> tuple[float, float, float, float | None] | None:
        """(clicks, impressions, ctr, position) of the day, or None when it has no data."""
        rows = self.expected_rows(site_url, date, search_type, (), aggregation_type, data_state)
        return rows[0] if rows else None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, port: int = 0) -> Iterator[Simulator]:
    """A simulator serving on 127.0.0.1:`port` (0 = any free port) for the `with` block."""
    simulator = Simulator(config, port).start()
    try:
        yield simulator
    finally:
        simulator.stop()
