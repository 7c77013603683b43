"""Alert delivery: a log line always, a Slack-compatible JSON POST when a webhook is set.

Contract: the POST carries what failed, the site, the date, the numbers and a link to the run
when DAGSTER_WEBSERVER_URL is set; a webhook that refuses or is unreachable raises
AlertDeliveryError (the sensors then retry instead of losing the alert).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gsc_assets.alerts import Alert, AlertDeliveryError, send_alert


class Receiver:
    """A local webhook: records every POSTed JSON body; answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    try:
        yield hook
    finally:
        hook.close()


ALERT = Alert(
    title="ERROR: check pages_sum_to_page_totals failed on gsc_page_daily",
    summary="1 of 2 slices: page rows do not sum to the byPage totals",
    run_id="abc-123",
    sites=("https://www.example.com/",),
    dates=("2026-11-17",),
    numbers={"stored_clicks": 1027.0, "api_clicks": 1540.5},
)


def test_alert_is_posted_with_site_date_numbers_and_run_link(receiver, caplog):
    with caplog.at_level(logging.ERROR, logger="gsc_assets.alerts"):
        send_alert(ALERT, webhook_url=receiver.url, webserver_url="http://dagster.local:3000/")
    [body] = receiver.bodies
    assert body["alert"]["run_url"] == "http://dagster.local:3000/runs/abc-123"
    assert body["alert"]["numbers"] == {"stored_clicks": 1027.0, "api_clicks": 1540.5}
    assert "site: https://www.example.com/" in body["text"]
    assert "date: 2026-11-17" in body["text"]
    assert "api_clicks=1,540.5" not in body["text"] and "api_clicks=1540" in body["text"]
    assert body["blocks"][0]["text"]["text"].startswith("*ERROR: check pages_sum_to_page_totals")
    assert "<http://dagster.local:3000/runs/abc-123|open the run>" in json.dumps(body["blocks"])
    assert [r.getMessage() for r in caplog.records] == [f"ALERT {body['text']}"]


def test_without_a_webhook_the_alert_is_only_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="gsc_assets.alerts"):
        send_alert(ALERT, webhook_url=None, webserver_url=None)
    [record] = caplog.records
    assert "run id: abc-123" in record.getMessage()


def test_a_refusing_webhook_raises(receiver):
    receiver.status = 500
    with pytest.raises(AlertDeliveryError, match="HTTP 500"):
        send_alert(ALERT, webhook_url=receiver.url, webserver_url=None)


def test_an_unreachable_webhook_raises(receiver):
    url = receiver.url
    receiver.close()
    with pytest.raises(AlertDeliveryError, match="unreachable"):
        send_alert(ALERT, webhook_url=url, webserver_url=None)
