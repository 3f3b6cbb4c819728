"""Variables, deployment buttons and notification configuration from Python: the core's
CRUD, rendered buttons URL-encoded per RFC 3986, errors with their codes (nothing written),
and a webhook channel configured here delivering to a local receiver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Dict, Iterator, List, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

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


def test_variables_crud_product_overrides_organization(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0.0", status="completed")
    org = vr.set_variable("region", "eu")
    assert isinstance(org, versioner.Variable)
    assert (org.name, org.value, org.product, org.declared) == ("region", "eu", None, False)
    assert org.updated_at is not None and org.updated_at.tzinfo is not None
    prod = vr.set_variable("region", "us", product="api")
    assert prod.product == "api"
    assert [v.value for v in vr.variables()] == ["eu"]
    assert [(v.name, v.value) for v in vr.variables("api")] == [("region", "us")]
    # Setting again replaces the value in its scope.
    vr.set_variable("region", "ap")
    assert [v.value for v in vr.variables()] == ["ap"]
    vr.remove_variable("region", product="api")
    assert vr.variables("api") == []
    with pytest.raises(versioner.NotFoundError) as e:
        vr.remove_variable("region", product="api")
    assert e.value.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vi_version", "prefix `vi_` is reserved"),
        ("Bad-Name", "is not a variable name"),
        ("", "is not a variable name"),
    ],
)
def test_a_bad_variable_name_is_refused_and_nothing_is_written(
    vr: versioner.Versioner, name: str, message: str
) -> None:
    with pytest.raises(versioner.InvalidInputError, match=message) as e:
        vr.set_variable(name, "x")
    assert e.value.code == "INVALID_INPUT"
    assert e.value.field == "name"
    assert vr.variables() == []


def test_a_variable_of_an_unknown_product_is_not_found(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.NotFoundError) as e:
        vr.set_variable("region", "eu", product="nope")
    assert e.value.code == "NOT_FOUND"
    assert vr.variables("nope") == []


def test_buttons_render_url_encoded_with_product_overrides(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.2.3", status="completed", build_number=42)
    vr.set_variable("my_var", "org value")
    tricky = "a&b=c/d#e f?"
    vr.set_variable("my_var", tricky, product="api")
    button = vr.add_deployment_button(
        "api",
        "Deploy",
        "https://ci.example.com/job/deploy/{vi_product_name}?version={vi_version}"
        "&target={my_var}&env={vi_environment_name}",
        ["staging", "production"],
    )
    assert isinstance(button, versioner.DeploymentButton)
    assert (button.product, button.name, button.enabled) == ("api", "Deploy", True)
    assert button.environments == ["staging", "production"]
    assert [b.id for b in vr.deployment_buttons("api")] == [button.id]
    assert [b.id for b in vr.deployment_buttons()] == [button.id]
    assert vr.deployment_buttons("other") == []

    rendered = vr.version_buttons("api", "1.2.3")
    assert [r.environment for r in rendered] == ["staging", "production"]
    for r in rendered:
        assert isinstance(r, versioner.RenderedButton)
        assert r.button_id == button.id and r.error is None and r.url is not None
        assert r.url == (
            "https://ci.example.com/job/deploy/api?version=1.2.3"
            f"&target=a%26b%3Dc%2Fd%23e%20f%3F&env={r.environment}"
        )
        parts = urlsplit(r.url)
        assert parts.fragment == ""
        query = parse_qs(parts.query)
        assert query["target"] == [tricky]
        assert query["version"] == ["1.2.3"]
        assert unquote(parts.path) == "/job/deploy/api"

    # Without the product's value, the organization's is used.
    vr.remove_variable("my_var", product="api")
    url = vr.version_buttons("api", "1.2.3")[0].url
    assert url is not None and "target=org%20value" in url


def test_a_missing_variable_is_named_on_the_rendered_button(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0.0", status="completed")
    vr.add_deployment_button("api", "Deploy", "https://ci.example.com/{token}", ["production"])
    [r] = vr.version_buttons("api", "1.0.0")
    assert r.url is None
    assert r.error == "Missing variable: token"


def test_button_errors_have_codes_and_write_nothing(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0.0", status="completed")
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.add_deployment_button("api", "Run", "ftp://files.example.com/{vi_version}", ["prod"])
    assert e.value.code == "INVALID_INPUT"
    assert e.value.field == "url_template"
    assert "http" in str(e.value)
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.add_deployment_button("api", "Run", "javascript:alert(1)", ["prod"])
    assert e.value.code == "INVALID_INPUT"
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.add_deployment_button("api", "Run", "https://ci.example.com/", [])
    assert e.value.field == "environments"
    with pytest.raises(versioner.NotFoundError):
        vr.add_deployment_button("nope", "Run", "https://ci.example.com/", ["prod"])
    with pytest.raises(TypeError, match="list of str"):
        vr.add_deployment_button("api", "Run", "https://ci.example.com/", "prod")
    assert vr.deployment_buttons() == []
    first = vr.add_deployment_button("api", "Run", "https://ci.example.com/", ["prod"])
    with pytest.raises(versioner.InvalidInputError, match="one template per environment"):
        vr.add_deployment_button("api", "Again", "https://ci.example.com/b", ["prod"])
    assert [b.id for b in vr.deployment_buttons()] == [first.id]
    vr.remove_deployment_button(first.id)
    assert vr.deployment_buttons() == []
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.remove_deployment_button(first.id)
    assert gone.value.code == "NOT_FOUND"
    with pytest.raises(versioner.NotFoundError):
        vr.version_buttons("api", "9.9.9")


def test_a_reader_may_not_manage_variables(vr: versioner.Versioner) -> None:
    reader = vr.acting_as("rita", role="viewer")
    with pytest.raises(versioner.AuthError) as e:
        reader.set_variable("region", "eu")
    assert e.value.code == "FORBIDDEN"
    assert vr.variables() == []


def test_channel_crud_never_returns_secrets(vr: versioner.Versioner) -> None:
    channel = vr.add_notification_channel(
        "ci", "webhook", {"url": "https://hooks.example.com/x", "secret": "s3cret-value"}
    )
    assert isinstance(channel, versioner.NotificationChannel)
    assert (channel.name, channel.channel_type, channel.declared) == ("ci", "webhook", False)
    listed = vr.notification_channels()
    assert [c.id for c in listed] == [channel.id]
    for shown in (channel, listed[0]):
        assert shown.config["url"] == "https://hooks.example.com/x"
        assert "s3cret-value" not in json.dumps(shown.to_dict(), default=str)
        assert "s3cret-value" not in repr(shown)
    removed = vr.remove_notification_channel("ci")
    assert removed.id == channel.id
    assert vr.notification_channels() == []
    with pytest.raises(versioner.NotFoundError) as e:
        vr.remove_notification_channel("ci")
    assert e.value.code == "NOT_FOUND"


def test_channel_and_preference_errors_write_nothing(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError, match="pigeon") as e:
        vr.add_notification_channel("ci", "pigeon", {"url": "https://x.example.com/"})
    assert e.value.code == "INVALID_INPUT"
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.add_notification_channel("ci", "webhook", {})
    assert e.value.field == "config.url"
    assert vr.notification_channels() == []
    vr.add_notification_channel("ci", "webhook", {"url": "https://x.example.com/"})
    with pytest.raises(versioner.InvalidInputError, match="already exists"):
        vr.add_notification_channel("ci", "webhook", {"url": "https://y.example.com/"})
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.add_notification_preference("ci", "deployment.exploded")
    assert e.value.code == "INVALID_INPUT"
    with pytest.raises(versioner.NotFoundError):
        vr.add_notification_preference("nope", "deployment.completed")
    assert vr.notification_preferences() == []
    with pytest.raises(versioner.NotFoundError):
        vr.remove_notification_preference("no-such-id")
    with pytest.raises(versioner.InvalidInputError, match="delivered, retrying, parked"):
        vr.notification_history(status="lost")  # type: ignore[arg-type]
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.notification_history(limit=0)
    assert e.value.field == "limit"
    with pytest.raises(versioner.NotFoundError):
        vr.notification_history(channel="nope")
    with pytest.raises(versioner.NotFoundError):
        vr.send_test_notification("nope")


def test_a_webhook_channel_configured_here_delivers(
    vr: versioner.Versioner, receiver: Tuple[str, Received]
) -> None:
    url, got = receiver
    channel = vr.add_notification_channel("ci", "webhook", {"url": url, "secret": "s3cret"})
    pref = vr.add_notification_preference(
        channel.id, "build.completed", products=["api"], statuses=["completed"]
    )
    assert isinstance(pref, versioner.NotificationPreference)
    assert pref.channel_id == channel.id and pref.event_type == "build.completed"
    assert pref.filters.products == ["api"] and pref.filters.environments == []
    assert [p.id for p in vr.notification_preferences()] == [pref.id]

    vr.track_build(product_name="other", version="1.0.0", status="completed")
    vr.track_build(product_name="api", version="1.2.3", status="completed")
    report = vr.deliver_pending()
    assert (report.delivered, report.parked) == (1, 0)
    assert len(got) == 1
    headers, body = got[0]
    assert headers["x-versioner-event"] == "build.completed"
    assert json.loads(body)["version"] == "1.2.3"

    history = vr.notification_history(channel="ci")
    assert len(history) == 1
    [d] = history
    assert isinstance(d, versioner.NotificationDelivery)
    assert (d.channel_name, d.event_type, d.status, d.response_code) == (
        "ci", "build.completed", "delivered", 200
    )
    assert d.seq is not None and headers["x-versioner-delivery"] == d.delivery_id
    assert vr.notification_history(status="parked") == []

    test = vr.send_test_notification("ci")
    assert (test.event_type, test.status, test.seq) == ("test", "delivered", None)
    assert got[-1][0]["x-versioner-event"] == "test"
    assert len(vr.notification_history(limit=1)) == 1

    removed = vr.remove_notification_preference(pref.id)
    assert removed.id == pref.id
    assert vr.notification_preferences() == []
