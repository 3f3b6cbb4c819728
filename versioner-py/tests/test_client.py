"""`versioner.Client` against a real `versioner serve` (target/debug/versioner).

The binary comes from `cargo build -p versioner-cli` (scripts/test-python.sh builds it and
sets VERSIONER_BIN); run alone without a binary, these tests are skipped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Dict, Iterator, NamedTuple

import pytest

import versioner
from conftest import window_around_now

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("VERSIONER_BIN", ROOT / "target" / "debug" / "versioner"))

# Skipped only when nobody asked for them: scripts/test-python.sh sets VERSIONER_BIN, and a
# missing binary then fails the suite.
pytestmark = pytest.mark.skipif(
    "VERSIONER_BIN" not in os.environ and not BIN.exists(),
    reason=f"no versioner binary at {BIN}; run `cargo build -p versioner-cli`",
)


class Server(NamedTuple):
    url: str
    admin_key: str
    viewer_key: str
    ci_key: str


def create_key(db: Path, name: str, role: str) -> str:
    out = subprocess.run(
        [str(BIN), "keys", "create", "--db", str(db), "--name", name, "--role", role,
         "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    key: str = json.loads(out.stdout)["key"]
    return key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("server") / "versioner.db"
    admin = create_key(db, "py-admin", "admin")
    viewer = create_key(db, "py-viewer", "viewer")
    ci = create_key(db, "py-ci", "ci")
    env: Dict[str, str] = {k: v for k, v in os.environ.items()
                           if not k.startswith("VERSIONER_")}
    proc = subprocess.Popen(
        [str(BIN), "serve", "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield Server(line.split()[-1], admin, viewer, ci)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def client(server: Server) -> versioner.Client:
    return versioner.Client(server.url, server.admin_key, timeout=10, backoff=0.05)


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def test_construction_and_health(server: Server) -> None:
    c = versioner.Client(server.url + "/", server.admin_key,
                         timeout=timedelta(seconds=5), max_attempts=2, max_wait=1.5)
    assert isinstance(c, versioner.Tracker) and not isinstance(c, versioner.Versioner)
    assert c.api_url.startswith("http://127.0.0.1:")
    assert server.admin_key not in repr(c) and repr(c).startswith("Client(api_url='http://")
    assert c.health() == {"status": "ok", "version": versioner.__version__}
    with pytest.raises(versioner.InvalidInputError) as bad:
        versioner.Client("not a url")
    assert bad.value.field == "api_url"
    with pytest.raises(versioner.InvalidInputError, match="ftp"):
        versioner.Client("ftp://example.com")
    assert versioner.Client("https://example.com").api_url == "https://example.com/"
    with pytest.raises(versioner.InvalidInputError) as ca:
        versioner.Client("https://example.com", ca_cert="/nonexistent/ca.pem")
    assert ca.value.field == "ca_cert" and "/nonexistent/ca.pem" in str(ca.value)
    with pytest.raises(versioner.InvalidInputError) as attempts:
        versioner.Client(server.url, max_attempts=0)
    assert attempts.value.field == "max_attempts"
    with pytest.raises(versioner.InvalidInputError):
        versioner.Client(server.url, timeout=-1)
    with pytest.raises(TypeError):
        versioner.Client(server.url, timeout="soon")  # type: ignore[arg-type]


def test_tracking_round_trip(client: versioner.Client) -> None:
    product = unique("api")
    b = client.track_build(product_name=product, version="1.0", status="success",
                           scm_sha="abcd1234", build_number=7, extra_metadata={"k": "v"})
    assert isinstance(b, versioner.Build) and b.build_number == "7"
    with client.deploying(product_name=product, version="1.0", environment_name="staging",
                           deployed_by="dana") as run:
        assert run.started is not None and run.started.status == "started"
        run.extra_metadata["image"] = "api:1"
    assert run.finished is not None and run.finished.status == "completed"
    d = client.deployment(run.id)
    assert d.status == "completed" and d.deployed_by == "dana"
    assert d.extra_metadata.get("image") == "api:1"
    assert client.state().version(product, "staging") == "1.0"
    assert [h.id for h in client.history(product_name=product)] == [run.id]
    assert [v.version for v in client.versions(product)] == ["1.0"]
    v = client.versions_by_sha("abcd1234")[0]
    assert client.version_by_id(v.id).version == "1.0"
    assert product in [p.name for p in client.products()]
    assert "staging" in [e.name for e in client.environments()]
    verdict = client.check(product_name=product, version="1.0", environment_name="prod")
    assert isinstance(verdict, versioner.Verdict)


def test_remote_errors_are_the_in_process_ones(server: Server, client: versioner.Client) -> None:
    product = unique("err")
    with pytest.raises(versioner.InvalidInputError) as invalid:
        client.track_deployment(product_name=product, version="1", environment_name="e",
                                status="sideways")
    assert invalid.value.field == "status" and invalid.value.code == "INVALID_INPUT"
    client.track_build(product_name=product, version="1", status="success", scm_sha="aaaa1111")
    with pytest.raises(versioner.VersionConflictError) as conflict:
        client.track_build(product_name=product, version="1", status="success",
                           scm_sha="bbbb2222")
    assert conflict.value.http_status == 409
    with pytest.raises(versioner.NotFoundError):
        client.deployment("no-such-deployment")
    with pytest.raises(versioner.AuthError) as unauthorized:
        versioner.Client(server.url, "sk_wrong").products()
    assert (unauthorized.value.code, unauthorized.value.http_status) == ("UNAUTHORIZED", 401)
    with pytest.raises(versioner.AuthError) as no_key:
        versioner.Client(server.url).products()
    assert no_key.value.code == "UNAUTHORIZED"
    viewer = versioner.Client(server.url, server.viewer_key)
    assert isinstance(viewer.products(), list)
    with pytest.raises(versioner.AuthError) as forbidden:
        viewer.track_build(product_name=product, version="2", status="success")
    assert (forbidden.value.code, forbidden.value.http_status) == ("FORBIDDEN", 403)


def test_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = versioner.Client(f"http://127.0.0.1:{port}", "k", max_attempts=2, backoff=0.01)
    with pytest.raises(versioner.VersionerError) as info:
        c.products()
    assert type(info.value) is versioner.VersionerError
    assert info.value.code == "NETWORK" and info.value.exit_code == 1


def test_rules_approvals_and_blocks_remotely(client: versioner.Client, server: Server) -> None:
    product = unique("pol")
    report = client.apply_policy(
        [
            {"name": f"{product} flow", "type": "flow", "products": [product],
             "environments": ["prod"], "prerequisites": ["staging"]},
            {"name": f"{product} approvals", "type": "release_approval",
             "products": [product], "environments": ["prod"], "required": 1},
        ],
        mode="merge",
    )
    assert report.added == [f"{product} flow", f"{product} approvals"]
    assert {f"{product} flow", f"{product} approvals"} <= {r.name for r in client.rules()}
    # The pipeline's key records the build and (below) the deployment, naming the people.
    pipeline = versioner.Client(server.url, server.ci_key, timeout=10, backoff=0.05)
    pipeline.track_build(product_name=product, version="1", status="success", built_by="bob")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        client.track_deployment(product_name=product, version="1", environment_name="prod",
                                status="started", deployed_by="dana")
    e = info.value
    assert e.code == "FLOW_VIOLATION" and e.http_status == 428 and e.exit_code == 5
    assert e.verdict is not None and e.rule_name == f"{product} flow"
    assert sorted(o.code or "" for o in e.violations) == ["APPROVAL_REQUIRED", "FLOW_VIOLATION"]
    # Through the server the actor is the key's principal: naming another is refused.
    with pytest.raises(versioner.InvalidInputError) as other:
        client.set_rule_status(f"{product} flow", "disabled", "dana", "remote test")
    assert other.value.field == "actor" and "this request acts as `py-admin`" in str(other.value)
    r = client.set_rule_status(f"{product} flow", "disabled", None, "remote test")
    assert r.status == "disabled"
    assert client.rule_history(f"{product} flow")[-1].actor == "py-admin"
    with pytest.raises(versioner.InvalidInputError) as other:
        client.approve(product_name=product, version="1", approval_type="release",
                       approver="alice")
    assert other.value.field == "approver"
    a = client.approve(product_name=product, version="1", approval_type="release")
    assert (a.approver, a.approver_role) == ("py-admin", "admin")
    assert [x.id for x in client.approvals(product, "1")] == [a.id]
    # The approver never deploys its own approval: a pipeline's key deploys for dana.
    with pytest.raises(versioner.DeploymentBlockedError):
        client.track_deployment(product_name=product, version="1", environment_name="prod",
                                status="started", deployed_by="dana")
    started = pipeline.track_deployment(product_name=product, version="1",
                                        environment_name="prod", status="started",
                                        deployed_by="dana")
    assert (started.deployed_by, started.recorded_by) == ("dana", "py-ci")
    assert started.preflight is not None and started.preflight.status == "passed"
    revoked = client.revoke_approval(a.id, None, "oops")
    assert not revoked.is_active
    text = (f'[[rules]]\nname = "{product} window"\ntype = "schedule"\n'
            f'products = ["{product}"]\ntimezone = "UTC"\n'
            f'windows = {json.dumps(window_around_now()["windows"])}\n'.replace('": ', '" = '))
    client.apply_policy(text, mode="merge")
    with pytest.raises(versioner.DeploymentBlockedError) as window:
        with client.deploying(product_name=product, version="1", environment_name="qa"):
            pytest.fail("the body must not run")
    assert window.value.code == "NO_DEPLOY_WINDOW" and window.value.retry_after is not None
    assert client.drift() is not None


def test_violations_remotely(client: versioner.Client) -> None:
    product = unique("vio")
    client.apply_policy([{"name": f"{product} flow", "type": "flow", "products": [product],
                          "environments": ["prod"], "prerequisites": ["staging"]}],
                        mode="merge")
    with pytest.raises(versioner.DeploymentBlockedError):
        client.track_deployment(product_name=product, version="1", environment_name="prod",
                                status="started", deployed_by="dana")
    [d] = client.violations(product_name=product)
    assert isinstance(d, versioner.DecisionRecord) and d.outcome == "blocked"
    assert d.actor == "py-admin" and d.facts.principal == "py-admin"
    assert d.failed_rules == [f"{product} flow"] and d.verdict.code == "FLOW_VIOLATION"
    assert client.violations(product_name=product, outcome="reported") == []
    assert client.violations(product_name=product, rule=f"{product} flow", limit=1) == [d]
    with pytest.raises(versioner.InvalidInputError) as bad:
        client.violations(outcome="exploded")  # type: ignore[arg-type]
    assert bad.value.field == "outcome"
    with pytest.raises(versioner.InvalidInputError) as since:
        client.violations(since="yesterday")
    assert since.value.field == "since"
    # Replay, the audit chain and the event stream are in process only.
    assert not hasattr(client, "replay") and not hasattr(client, "events_since")


def test_client_is_shared_by_threads(client: versioner.Client) -> None:
    product = unique("threads")

    def ship(i: int) -> str:
        return client.track_deployment(product_name=product, version=str(i),
                                       environment_name=f"env{i % 3}", status="success").id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(ship, range(24)))
    assert len(ids) == 24
    assert len(client.history(product_name=product, limit=100)) == 24


def test_deploy_script_against_the_server(server: Server, tmp_path: Path) -> None:
    from test_example import run

    product = unique("script")
    env = {"VERSIONER_API_URL": server.url, "VERSIONER_API_KEY": server.admin_key}
    r = run(tmp_path, "--product", product, "--version", "2.0", "--environment", "staging",
            "--", "true", env=env)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "versioner.db").exists()
    c = versioner.Client(server.url, server.admin_key)
    assert c.state().version(product, "staging") == "2.0"


def test_rule_editing_lookups_and_environment_types_remotely(
    server: Server, client: versioner.Client
) -> None:
    """The methods the in-process Versioner had alone, now on every Tracker."""
    product = unique("shared")
    name = f"{product} serial"
    added = client.add_rule({"name": name, "type": "concurrency", "max": 1,
                             "products": [product]})
    assert (added.name, added.type, added.status) == (name, "concurrency", "enabled")
    assert client.rule(name).definition() == added.definition()
    with pytest.raises(versioner.InvalidInputError, match="already exists"):
        client.add_rule(added)
    with pytest.raises(versioner.InvalidInputError) as invalid:
        client.add_rule({"name": "x", "type": "flow"})
    assert [p.field for p in invalid.value.problems] == ["prerequisites"]
    updated = client.update_rule(name, {**added.definition(), "name": f"{name} 2",
                                        "status": "report_only"})
    assert (updated.name, updated.status) == (f"{name} 2", "report_only")
    with pytest.raises(versioner.NotFoundError):
        client.rule(name)
    history = client.rule_history(f"{name} 2")
    assert [(c.from_status, c.to_status) for c in history] == [("enabled", "report_only")]
    assert isinstance(history[0], versioner.RuleStatusChange)
    assert any(c.rule_name == f"{name} 2" for c in client.rule_history())
    assert client.rule_history("no such rule") == []
    client.delete_rule(f"{name} 2")
    with pytest.raises(versioner.NotFoundError):
        client.delete_rule(f"{name} 2")
    assert len(client.rule_history(f"{name} 2")) == 1

    client.track_build(product_name=product, version=3, status="success", scm_sha="feed1234")
    v = client.version(product, 3)
    assert (v.version, v.scm_sha) == ("3", "feed1234")
    with pytest.raises(versioner.NotFoundError):
        client.version(product, "9")

    env = f"qa-{product}"
    e = client.set_environment_type(env, "staging")
    assert (e.name, e.type, e.type_overridden) == (env, "staging", True)
    e = client.set_environment_type(env, None)
    assert (e.type, e.type_overridden) == ("test", False)
    with pytest.raises(versioner.InvalidInputError):
        client.set_environment_type(env, "moon")  # type: ignore[arg-type]

    viewer = versioner.Client(server.url, server.viewer_key)
    assert viewer.rule_history("no such rule") == []
    for call in (lambda: viewer.add_rule(added), lambda: viewer.delete_rule("x"),
                 lambda: viewer.set_environment_type(env, "dev")):
        with pytest.raises(versioner.AuthError) as forbidden:
            call()
        assert forbidden.value.code == "FORBIDDEN"


def test_a_closed_client_refuses_calls(server: Server) -> None:
    with versioner.Client(server.url, server.admin_key) as c:
        assert not c.closed and isinstance(c.products(), list)
    assert c.closed
    for call in (c.products, c.health, lambda: c.rule_history()):
        with pytest.raises(versioner.InvalidInputError, match="closed"):
            call()


def test_deployment_requests_remotely(client: versioner.Client, server: Server) -> None:
    """A request's life through `versioner serve`: the key's principal acts, blocks are typed."""
    product = unique("dr")
    client.apply_policy(
        [{"name": f"{product} DR", "type": "deployment_request_required",
          "products": [product], "environments": ["prod"]}],
        mode="merge",
    )
    pipeline = versioner.Client(server.url, server.ci_key, timeout=10, backoff=0.05)
    pipeline.track_build(product_name=product, version="1", status="success")
    with pytest.raises(versioner.DeploymentRequestRequiredError) as required:
        pipeline.track_deployment(product_name=product, version="1", environment_name="prod",
                                  status="started")
    assert required.value.http_status == 428 and required.value.exit_code == 5
    dr = client.create_request(f"{product} change", versions=[(product, "1")],
                               environments=["prod"], slots=["qa"], pre_steps=["Announce"])
    assert (dr.status, dr.created_by) == ("draft", "py-admin")
    # Through the server the actor is the key's principal: naming another is refused.
    with pytest.raises(versioner.InvalidInputError) as other:
        client.submit_request(dr.id, actor="mallory")
    assert other.value.field == "actor"
    assert client.submit_request(dr.id).status == "in_progress"
    with pytest.raises(versioner.DeploymentRequestPendingError) as pending:
        pipeline.track_deployment(product_name=product, version="1", environment_name="prod",
                                  status="started")
    assert "qa" in str(pending.value)
    # The admin created it, and self-approval is off for `prod`: its own key may not approve.
    with pytest.raises(versioner.AuthError) as own:
        client.approve_request(dr.id, "qa")
    assert own.value.code == "FORBIDDEN" and "self-approval is off" in str(own.value)
    assert client.request(dr.id).slots[0].status == "pending"
    assert client.request_progress(dr.id).cells[0].state == "not_deployed"
    assert [r.id for r in client.requests(status="in_progress", product=product)] == [dr.id]
    assert client.cancel_request(dr.id, comment="superseded").status == "cancelled"


def test_server_metrics_parse_as_openmetrics(server: Server, client: versioner.Client) -> None:
    """`GET /metrics` (admin only) parses with the OpenMetrics parser of prometheus_client."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    bad = urllib.request.Request(
        server.url + "/deployment-events/", data=b'{"product_name": "m"}', method="POST",
        headers={"Authorization": f"Bearer {server.admin_key}",
                 "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=10)
    assert refused.value.code == 422

    def get(key: str) -> "tuple[int, str, str]":
        req = urllib.request.Request(server.url + "/metrics",
                                     headers={"Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, "", e.read().decode()

    assert get(server.viewer_key)[0] == 403
    status, content_type, text = get(server.admin_key)
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    families = {f.name: f for f in text_string_to_metric_families(text)}  # type: ignore[no-untyped-call]
    assert families["versioner_http_requests"].type == "counter"
    assert families["versioner_http_request_duration_seconds"].type == "histogram"
    assert families["versioner_outbox_last_seq"].type == "gauge"
    samples = [(s.labels.get("route"), s.labels.get("status"))
               for s in families["versioner_http_requests"].samples]
    assert ("/deployment-events/", "422") in samples
    assert ("/metrics", "403") in samples
