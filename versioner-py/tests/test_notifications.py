"""Notification delivery from Python: ``deliver_pending`` sends a policy-declared channel's
webhook, signed as the reference's protocol says, to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Dict, Iterator, List, Tuple

import pytest

import versioner

Received = List[Tuple[Dict[str, str], bytes]]


@pytest.fixture
def receiver() -> Iterator[Tuple[str, Received]]:
    got: Received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()


def test_deliver_pending_sends_a_signed_webhook(receiver: Tuple[str, Received]) -> None:
    url, got = receiver
    vr = versioner.Versioner()
    empty = vr.deliver_pending()
    assert isinstance(empty, versioner.DeliveryReport)
    assert (empty.channels, empty.delivered, empty.attempts) == (0, 0, 0)
    vr.apply_policy(
        f"""
[[notifications]]
name = "ci"
channel_type = "webhook"
config = {{ url = "{url}", secret = "s3cret" }}
events = ["deployment.completed"]
"""
    )
    vr.track_deployment(
        product_name="api", version="1.2.0", environment_name="production", status="success"
    )
    report = vr.deliver_pending()
    assert (report.channels, report.delivered, report.parked) == (1, 1, 0)
    assert len(got) == 1
    headers, body = got[0]
    assert headers["x-versioner-event"] == "deployment.completed"
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-versioner-signature"], expected)
    payload = json.loads(body)
    assert payload["is_successful"] is True
    assert payload["environment"] == "production"
    assert vr.deliver_pending().delivered == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_subscribe_calls_back_after_commit_and_never_for_refused_work() -> None:
    import queue

    vr = versioner.Versioner()
    vr.apply_policy(
        {"rules": [{"name": "Staging first", "type": "flow", "environments": ["production"],
                    "prerequisites": ["staging"]}]}
    )
    got: "queue.Queue[versioner.DomainEvent]" = queue.Queue()

    def callback(event: versioner.DomainEvent) -> None:
        if event.event_type == "build.started":
            raise RuntimeError("a failing subscriber")
        got.put(event)

    with vr.subscribe(callback):
        vr.track_build(product_name="api", version="1.0.0", status="started")
        vr.track_build(product_name="api", version="1.0.0", status="completed")
        with pytest.raises(versioner.DeploymentBlockedError):
            vr.track_deployment(
                product_name="api", version="1.0.0", environment_name="production",
                status="started",
            )
        vr.track_deployment(
            product_name="api", version="1.0.0", environment_name="staging", status="completed"
        )
        first = got.get(timeout=10)
        second = got.get(timeout=10)
    assert (first.event_type, second.event_type) == ("build.completed", "deployment.completed")
    assert first.seq < second.seq
