"""The field guard: every field of every core record reaches a Python attribute.

``versioner-core/tests/vectors/records.json`` holds every record the core hands out, each field
populated, in its serde JSON, the form the compiled module builds records from (``_from_wire``
builds them from it the same way; the core's suite keeps it current). Each one must convert, and every key must land in an attribute with a
value: a field the core gains and ``versioner/_records.py`` lacks fails here, named. The last
test builds every record type through the compiled module itself, so the real conversions
run with the same strictness.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Set, Tuple, Type

import pytest

import versioner
from versioner._records import _Record

VECTORS = Path(__file__).resolve().parents[2] / "versioner-core" / "tests" / "vectors" / "records.json"

#: The Python record of each core record.
MIRRORS: Dict[str, Type[_Record]] = {
    "Product": versioner.Product,
    "Environment": versioner.Environment,
    "Version": versioner.Version,
    "Build": versioner.Build,
    "Deployment": versioner.Deployment,
    "Preflight": versioner.Preflight,
    "Verdict": versioner.Verdict,
    "RuleOutcome": versioner.RuleOutcome,
    "Approval": versioner.Approval,
    "StoredRule": versioner.Rule,
    "RuleStatusChange": versioner.RuleStatusChange,
    "ApplyReport": versioner.ApplyReport,
    "DeployedVersion": versioner.DeployedVersion,
    "StateCell": versioner.StateCell,
    "StateMatrix": versioner.StateMatrix,
    "Drift": versioner.Drift,
    "CiInfo": versioner.CiInfo,
    "DecisionRecord": versioner.DecisionRecord,
    "Facts": versioner.Facts,
    "OpenDeployment": versioner.OpenDeployment,
    "Stint": versioner.Stint,
    "ReplayChange": versioner.ReplayChange,
    "AuditReport": versioner.AuditReport,
    "DomainEvent": versioner.DomainEvent,
    "DeploymentRequest": versioner.DeploymentRequest,
    "Progress": versioner.Progress,
    "RequestTemplate": versioner.RequestTemplate,
    "CoveringRequest": versioner.CoveringRequest,
    "QueueEntry": versioner.QueueEntry,
}

#: Core records the Python package does not expose, and why.
NOT_EXPOSED = {
    "ApiKey": "keys are managed by `versioner keys` and the server, not the bindings",
    "Principal": "principals are managed by `versioner keys` and the server, not the bindings",
}

#: Keys whose values are data (free-form maps, a request as sent): their keys are not fields.
FREE_FORM = {"extra_metadata", "details", "metadata", "versions", "payload", "request"}


def vectors() -> Dict[str, List[Dict[str, Any]]]:
    records: Dict[str, List[Dict[str, Any]]] = json.loads(VECTORS.read_text())["records"]
    return records


def wire_names(cls: Type[_Record]) -> Dict[str, str]:
    """Wire name → attribute name."""
    return {
        cls._WIRE.get(f.name, f.name): f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }


def unmapped(record: object, wire: Mapping[str, Any], path: str) -> List[str]:
    """The keys of ``wire`` (recursively) with no attribute of ``record`` holding a value."""
    problems: List[str] = []
    if isinstance(record, versioner.Rule):
        for key, value in wire.items():
            here = f"{path}.{key}"
            if hasattr(record, key):
                got = getattr(record, key)
            elif key in record.parameters:
                got = record.parameters[key]
            else:
                problems.append(f"{here}: no attribute or parameter")
                continue
            if got is None or (value and got in ([], {})):
                problems.append(f"{here}: is {got!r}, the core sent {value!r}")
        return problems
    assert isinstance(record, _Record), path
    names = wire_names(type(record))
    for key, value in wire.items():
        here = f"{path}.{key}"
        attr = names.get(key)
        if attr is None:
            problems.append(f"{here}: no attribute")
            continue
        got = getattr(record, attr)
        if got is None or (value and got in ([], {})):
            problems.append(f"{here}: attribute `{attr}` is {got!r}, the core sent {value!r}")
        elif key in FREE_FORM:
            continue
        elif isinstance(got, _Record) and isinstance(value, dict):
            problems.extend(unmapped(got, value, here))
        elif isinstance(got, list) and isinstance(value, list):
            for i, (item, item_wire) in enumerate(zip(got, value)):
                if isinstance(item, _Record) and isinstance(item_wire, dict):
                    problems.extend(unmapped(item, item_wire, f"{here}[{i}]"))
        elif isinstance(got, dict) and isinstance(value, dict):
            # A map of records (Facts.stints): each value converted.
            for k, item_wire in value.items():
                item = got.get(k)
                if isinstance(item, _Record) and isinstance(item_wire, dict):
                    problems.extend(unmapped(item, item_wire, f"{here}[{k!r}]"))
                elif item is None:
                    problems.append(f"{here}[{k!r}]: missing")
    return problems


def test_every_core_record_type_is_mirrored_or_listed() -> None:
    kinds = set(vectors())
    unknown = kinds - set(MIRRORS) - set(NOT_EXPOSED)
    assert not unknown, f"core records with no Python record (add one, or to NOT_EXPOSED): {unknown}"
    gone = (set(MIRRORS) | set(NOT_EXPOSED)) - kinds
    assert not gone, f"listed here but no longer in {VECTORS.name}: {gone}"


@pytest.mark.parametrize("kind", sorted(MIRRORS))
def test_every_core_field_maps_to_an_attribute(kind: str) -> None:
    cls = MIRRORS[kind]
    for i, wire in enumerate(vectors()[kind]):
        # Raises VersionerError naming any key the record has no attribute for.
        record = cls._from_wire(wire)
        problems = unmapped(record, wire, f"{kind}[{i}]")
        assert not problems, "core fields that do not reach Python:\n  " + "\n  ".join(problems)


def test_an_unknown_field_is_refused_by_name() -> None:
    records = vectors()
    deployment = dict(records["Deployment"][0])
    deployment["rollout_wave"] = 3
    with pytest.raises(versioner.VersionerError, match="Deployment .*`rollout_wave`") as e:
        versioner.Deployment._from_wire(deployment)
    assert e.value.code == "INTERNAL"
    nested = json.loads(json.dumps(records["Deployment"][0]))
    nested["preflight"]["verdict"]["outcomes"][0]["severity"] = "high"
    with pytest.raises(versioner.VersionerError, match="RuleOutcome .*`severity`"):
        versioner.Deployment._from_wire(nested)
    rule = dict(records["StoredRule"][0])
    rule["revision"] = 2
    with pytest.raises(versioner.VersionerError, match=r"Rule \(concurrency\) .*`revision`"):
        versioner.Rule._from_wire(rule)
    flow = next(r for r in records["StoredRule"] if r["type"] == "flow")
    with pytest.raises(versioner.VersionerError, match="`max`"):
        versioner.Rule._from_wire({**flow, "max": 1})
    decision = json.loads(json.dumps(records["DecisionRecord"][0]))
    decision["facts"]["stints"]["staging"]["regressed"] = True
    with pytest.raises(versioner.VersionerError, match="Stint .*`regressed`"):
        versioner.DecisionRecord._from_wire(decision)


def populated(record: object, path: str, seen: Dict[Tuple[str, str], bool]) -> None:
    """Records, by (record type, attribute), whether ``record`` (recursively) gives it a value."""
    assert isinstance(record, _Record), path
    kind = type(record).__name__
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        full = not (value is None or value in ([], {}, ""))
        seen[(kind, f.name)] = seen.get((kind, f.name), False) or full
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, _Record):
                populated(item, f"{path}.{f.name}[{i}]", seen)


def waiting_entry(db: Path) -> versioner.QueueEntry:
    """A deployment waiting in the queue behind one in progress, as ``queue()`` shows it."""
    with versioner.Versioner(db) as q:
        q.apply_policy({"rules": [{"name": "One", "type": "concurrency", "max": 1}]})
        first: Dict[str, Any] = dict(product_name="api", version="1.0",
                                     environment_name="production")
        q.track_deployment(status="started", **first)
        waiter = threading.Thread(target=lambda: q.track_deployment(
            product_name="api", version="1.1", environment_name="production",
            status="started", deployed_by="dana", wait=30))
        waiter.start()
        deadline = time.monotonic() + 20
        while not q.queue():
            assert time.monotonic() < deadline, "never queued"
            time.sleep(0.05)
        entry = q.queue()[0]
        q.track_deployment(status="completed", **first)
        waiter.join(20)
        return entry


def test_every_record_type_through_the_native_module(
    vr: versioner.Versioner, tmp_path: Path
) -> None:
    """Every record type, from the compiled module's own calls, with every attribute set."""
    now = datetime.now(timezone.utc)
    fmt = "%Y-%m-%dT%H:%M"
    scope: Dict[str, Any] = {"description": "for the guard", "products": ["api"],
                             "environments": ["production"], "environment_types": ["production"]}
    rules: List[Dict[str, Any]] = [
        {**scope, "name": "Freeze", "type": "schedule", "mode": "deny", "timezone": "UTC",
         "reason": "maintenance", "windows": [
             {"name": "now", "recurrence": "once", "start": (now - timedelta(hours=1)).strftime(fmt),
              "end": (now + timedelta(hours=2)).strftime(fmt)}]},
        {**scope, "name": "One at a time", "type": "concurrency", "status": "report_only",
         "max": 5, "per": "environment", "stale_after": "2h"},
        {**scope, "name": "Staging first", "type": "flow", "status": "report_only",
         "prerequisites": ["staging"], "strict_order": True, "soak": "1h"},
        {**scope, "name": "QA", "type": "version_approval", "status": "report_only",
         "approval_types": ["qa"], "environment": "staging"},
        {**scope, "name": "Two approvers", "type": "release_approval", "status": "report_only",
         "required": 2, "approver_roles": ["release_manager"], "expires_after": "7d"},
        {**scope, "name": "Staging keeps up", "type": "max_skew", "status": "report_only",
         "behind": "staging", "max_versions": 5, "max_age": "14d"},
    ]
    vr.apply_policy({"rules": rules[:4] + [{"name": "Old", "type": "concurrency"}]})
    report = vr.apply_policy({"rules": [rules[0], {**rules[1], "max": 6}, rules[2], rules[3],
                                        rules[4], rules[5]]})
    vr.set_rule_status("One at a time", "disabled", actor="erin", reason="trial")
    vr.set_rule_status("One at a time", "report_only", actor="erin", reason="trial over")
    sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    # Recorded by an actor (`recorded_by`), naming who built and deployed.
    dana = vr.acting_as("dana")
    build = dana.track_build(
        product_name="api", version="1.2.0", status="failed", built_by="dana",
        built_by_email="dana@example.com", built_by_name="Dana", scm_sha=sha, scm_branch="main",
        scm_repository="acme/api", build_url="https://ci/42", build_number=42,
        source_system="github", invoke_id="run-42", started_at=now - timedelta(minutes=9),
        scm_committed_at=now - timedelta(minutes=30),
        completed_at=now - timedelta(minutes=1), error_message="tests failed",
        error_code="TESTS", extra_metadata={"ticket": "CHG-1"},
    )
    common: Dict[str, Any] = dict(
        product_name="api", version="1.2.0", deployed_by="dana",
        deployed_by_email="dana@example.com", deployed_by_name="Dana", scm_sha=sha,
        scm_repository="acme/api", scm_branch="main", build_number=42, source_system="github",
        invoke_id="run-43", deploy_url="https://ci/43", build_url="https://ci/42",
        extra_metadata={"ticket": "CHG-1"},
    )
    vr.track_deployment(environment_name="staging", status="completed", **common)
    vr.track_deployment(environment_name="production", status="started",
                        skip_preflight_checks=True, skip_preflight_reason="hotfix", **common)
    deployment = dana.track_deployment(environment_name="production", status="completed",
                                     completed_at=now, **common)
    vr.track_deployment(product_name="api", version="1.3.0", environment_name="production",
                        status="started", skip_preflight_checks=True,
                        skip_preflight_reason="hotfix", deployed_by="dana", scm_sha=sha[::-1])
    approval = vr.approve(product_name="api", version="1.2.0", approval_type="release",
                          approver="erin", approver_role="release_manager", environment_name="production",
                          comment="ship it")
    revoked = vr.revoke_approval(approval.id, actor="frank", reason="regression")
    vr.set_environment_type("production", "production")
    vr.update_environment("production", description="Customers' traffic",
                          extra_metadata={"region": "eu"})
    vr.update_product("api", description="The public API", extra_metadata={"team": "core"})
    vr.track_deployment(product_name="api", version="1.1.0", environment_name="staging",
                        status="completed")
    vr.track_deployment(product_name="api", version="1.2.0", environment_name="dev",
                        status="failed")  # a failed last attempt, for the state cell
    verdict = vr.check(product_name="api", version="1.2.0", environment_name="production")
    matrix = vr.state(at=datetime.now(timezone.utc))
    ci = versioner.detect_ci({
        "GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/api", "CI_COMMIT_SHA": sha,
        "CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_IID": "43", "CI_PIPELINE_ID": "9",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/api/-/pipelines/9",
        "GITLAB_USER_LOGIN": "dana", "GITLAB_USER_EMAIL": "dana@example.com",
        "GITLAB_USER_NAME": "Dana",
    })
    assert deployment.preflight is not None and deployment.preflight.status == "skipped"
    assert not verdict.allowed
    # Decisions: a refusal, then dana's bypass with every fact gathered (a build, a
    # deployment open in production, a staging stint superseded by 1.1.0, a standing
    # approval); a candidate policy that tightens staging and loosens production.
    with pytest.raises(versioner.DeploymentBlockedError):
        vr.track_deployment(product_name="api", version="1.2.0", environment_name="production",
                            status="started")
    vr.approve(product_name="api", version="1.2.0", approval_type="qa", approver="quinn",
               approver_role="qa")
    # A submitted Deployment Request covers the bypass below: its facts name it.
    covering = vr.create_request("Q4 release", versions=[("api", "1.2.0")],
                                 environments=["production"], slots=["security"],
                                 pre_steps=["Announce in #deploys"], created_by="dana")
    vr.submit_request(covering.id, actor="dana")
    dana.track_deployment(product_name="api", version="1.2.0", environment_name="production",
                          status="started", skip_preflight_checks=True,
                          skip_preflight_reason="hotfix", deployed_by="dana")
    decided = next(d for d in vr.violations() if d.actor == "dana" and d.facts.principal)
    changes = vr.replay(now - timedelta(hours=1),
                        {"rules": [{"name": "Dev first", "type": "flow",
                                    "environments": ["staging"], "prerequisites": ["dev"]}]})
    assert {(c.was, c.now) for c in changes} >= {("allowed", "blocked"), ("blocked", "allowed")}
    intact = vr.audit_verify()
    assert intact.intact
    broken_db = tmp_path / "broken.db"
    with versioner.Versioner(broken_db) as other:
        other.track_build(product_name="api", version="1", status="success")
        with sqlite3.connect(broken_db) as db:
            db.execute("UPDATE outbox SET subject = 'forged' WHERE seq = 1")
        broken = other.audit_verify()
    assert broken.first_mismatch == 1
    # A Deployment Request's whole life, from a template, on a database of its own.
    with versioner.Versioner() as full:
        full.track_build(product_name="api", version="1.2.0", status="completed")
        templates = full.put_request_templates([{
            "name": "Production change", "description": "Standard production change",
            "slots": [{"approval_type": "qa"}, {"approval_type": "security", "optional": True}],
            "pre_steps": ["Freeze merges"], "post_steps": ["Check the dashboards"],
            "environments": ["production"], "allow_self_approval": False,
        }])
        dr = full.create_request(
            "Q4 release", versions=[("api", "1.2.0")], template="Production change",
            description="The Q4 platform release", release_notes="Faster checkout",
            issue_links=["https://issues.example.com/42"], metadata={"change_ticket": "CHG-42"},
            created_by="dana")
        full.submit_request(dr.id, actor="dana", comment="Ready for review")
        full.approve_request(dr.id, "qa", actor="quinn", role="qa",
                             comment="Regression suite green")
        full.approve_request(dr.id, "security", actor="sam", role="security", comment="Fine")
        full.request_step_done(dr.id, "Freeze merges", actor="dana")
        full.track_deployment(product_name="api", version="1.2.0",
                              environment_name="production", status="started")
        full.track_deployment(product_name="api", version="1.2.0",
                              environment_name="production", status="completed")
        progress = full.request_progress(dr.id)
        completed = full.request_step_done(dr.id, "Check the dashboards", actor="dana")
    assert completed.status == "completed"
    records: List[Tuple[str, object]] = [
        ("put_request_templates()", templates[0]),
        ("request_progress()", progress),
        ("request_step_done()", completed),
        ("products()", vr.products()[0]),
        ("set_environment_type()", next(e for e in vr.environments() if e.name == "production")),
        ("version()", vr.version("api", "1.2.0")),
        ("track_build()", build),
        ("track_deployment()", deployment),
        ("check()", verdict),
        ("revoke_approval()", revoked),
        ("apply_policy()", report),
        ("rule_history()", vr.rule_history("One at a time")[0]),
        ("state()", matrix),
        ("drift()", vr.drift()[0]),
        ("detect_ci()", ci),
        ("violations()", decided),
        ("violations()[].facts.stints", decided.facts.stints["staging"]),
        ("audit_verify()", intact),
        ("audit_verify() of an edited database", broken),
    ]
    records += [(f"replay()[{i}]", c) for i, c in enumerate(changes)]
    records += [(f"events_since()[{e.seq}]", e) for e in vr.events_since(0, 1000)]
    records += [(f"rules()[{r.name}]", r) for r in vr.rules()]
    records.append(("queue()", waiting_entry(tmp_path / "queue.db")))
    seen: Dict[Tuple[str, str], bool] = {}
    for label, record in records:
        populated(record, label, seen)
    missing = {cls.__name__ for cls in MIRRORS.values()} - {kind for kind, _ in seen}
    assert not missing, f"record types the calls above did not produce: {missing}"
    empty = sorted(f"{kind}.{attr}" for (kind, attr), full in seen.items() if not full)
    assert not empty, "attributes the compiled module never filled:\n  " + "\n  ".join(empty)
