"""Decision records, replay, the audit chain and the event stream (issue 13, items 7 and 8).

The core decides; these tests check that each reaches Python whole, typed, and that bad
input raises ``InvalidInputError`` naming the field.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

import versioner

STAGING_FIRST: Dict[str, Any] = {
    "name": "Staging first", "type": "flow", "environments": ["production"],
    "prerequisites": ["staging"],
}
#: A rule that would have refused the staging deployments recorded below.
DEV_FIRST: Dict[str, Any] = {
    "name": "Dev first", "type": "flow", "environments": ["staging"], "prerequisites": ["dev"],
}


def long_ago() -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=1)


def seed(vr: versioner.Versioner) -> None:
    """One refused production start, then a passing staging deployment."""
    vr.apply_policy({"rules": [STAGING_FIRST]})
    vr.track_build(product_name="api", version="1.0.0", status="success", built_by="bob")
    with pytest.raises(versioner.DeploymentBlockedError):
        vr.track_deployment(product_name="api", version="1.0.0", environment_name="production",
                            status="started", deployed_by="dana")
    vr.track_deployment(product_name="api", version="1.0.0", environment_name="staging",
                        status="started", deployed_by="dana")
    vr.track_deployment(product_name="api", version="1.0.0", environment_name="staging",
                        status="completed", deployed_by="dana")


def test_a_refused_deployment_is_a_violation_with_its_verdict(vr: versioner.Versioner) -> None:
    seed(vr)
    [d] = vr.violations()
    assert isinstance(d, versioner.DecisionRecord)
    assert (d.product_name, d.version, d.environment_name) == ("api", "1.0.0", "production")
    assert d.outcome == "blocked" and d.status == "started" and d.deployment_id is None
    assert d.actor == "dana" and d.failed_rules == ["Staging first"]
    assert isinstance(d.verdict, versioner.Verdict) and not d.verdict.allowed
    assert d.verdict.code == "FLOW_VIOLATION" and d.verdict.primary_rule == "Staging first"
    assert isinstance(d.facts, versioner.Facts)
    assert d.facts.environment == "production" and d.facts.environment_type == "production"
    assert d.facts.deployed_by == "dana" and d.facts.principal is None
    assert d.facts.version_known
    stint = d.facts.stints["staging"]
    assert isinstance(stint, versioner.Stint) and stint.first_success_at is None
    assert d.request["environment_name"] == "production"
    assert len(d.policy_hash) == 64 and d.recorded_at.tzinfo is not None
    assert d.to_dict()["facts"]["stints"]["staging"]["superseded"] is None


def test_violations_filters(vr: versioner.Versioner) -> None:
    seed(vr)
    vr.apply_policy({"rules": [{**STAGING_FIRST, "status": "report_only"}]})
    vr.track_deployment(product_name="api", version="1.0.1", environment_name="production",
                        status="started")
    vr.track_deployment(product_name="web", version="2", environment_name="production",
                        status="started", skip_preflight_checks=True,
                        skip_preflight_reason="INC-7")
    everything = vr.violations()
    assert [d.outcome for d in everything] == ["bypassed", "reported", "blocked"]  # newest first
    assert [d.version for d in vr.violations(outcome="reported")] == ["1.0.1"]
    assert [d.product_name for d in vr.violations(outcome="bypassed")] == ["web"]
    assert len(vr.violations(product_name="api")) == 2
    assert len(vr.violations(product_name="API")) == 2  # names compare as the core compares them
    assert vr.violations(environment_name="staging") == []
    assert len(vr.violations(rule="Staging first")) == 3
    assert vr.violations(rule="No such rule") == []
    assert len(vr.violations(limit=1)) == 1
    assert vr.violations(since=datetime.now(timezone.utc) + timedelta(minutes=1)) == []
    assert len(vr.violations(since=long_ago(), until="2999-01-01T00:00:00Z")) == 3
    bypassed = vr.violations(outcome="bypassed")[0]
    assert bypassed.deployment_id is not None
    assert vr.deployment(bypassed.deployment_id).product_name == "web"


def test_bad_filters_name_the_field(vr: versioner.Versioner) -> None:
    cases: List[Dict[str, Any]] = [
        {"outcome": "exploded"},
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00:00Z"},
        {"since": datetime(2026, 1, 1)},  # naive
        {"limit": 0},
        {"limit": -1},
        {"rule": ["a", "b"]},
    ]
    for filters in cases:
        with pytest.raises(versioner.InvalidInputError) as e:
            vr.violations(**filters)
        assert e.value.field == next(iter(filters)), (filters, e.value)
        assert e.value.code == "INVALID_INPUT" and isinstance(e.value, ValueError)
    with pytest.raises(versioner.InvalidInputError) as order:
        vr.violations(since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z")
    assert order.value.field == "until"
    # An unknown filter is refused by Python itself, naming it (and by mypy, statically).
    with pytest.raises(TypeError, match="colour"):
        vr.violations(colour="red")  # type: ignore[call-arg]


def test_replay(vr: versioner.Versioner, tmp_path: Path) -> None:
    seed(vr)
    assert vr.replay(long_ago()) == []
    assert vr.replay(long_ago(), {"rules": [STAGING_FIRST]}) == []
    assert vr.replay(long_ago().isoformat(), [STAGING_FIRST]) == []
    # Tightened: exactly the staging start changes (the completion closed it, no decision);
    # the production refusal stays refused.
    changes = vr.replay(long_ago(), {"rules": [STAGING_FIRST, DEV_FIRST]})
    [change] = changes
    assert isinstance(change, versioner.ReplayChange)
    assert (change.environment_name, change.version) == ("staging", "1.0.0")
    assert (change.was, change.now) == ("allowed", "blocked")
    assert change.failed_then == [] and change.failed_now == ["Dev first"]
    assert change.decision_id not in {d.id for d in vr.violations()}
    # The same candidate as text and as a file; the policy in force is left alone.
    toml = "".join(
        f'[[rules]]\nname = "{r["name"]}"\ntype = "flow"\nenvironments = ["{r["environments"][0]}"]\n'
        f'prerequisites = ["{r["prerequisites"][0]}"]\n'
        for r in (STAGING_FIRST, DEV_FIRST)
    )
    assert vr.replay(long_ago(), toml) == changes
    path = tmp_path / "candidate.toml"
    path.write_text(toml)
    assert vr.replay(long_ago(), path) == changes
    assert vr.replay(long_ago(), str(path)) == changes
    assert [r.name for r in vr.rules()] == ["Staging first"]
    # Loosened: the refusal would now pass.
    [loosened] = vr.replay(long_ago(), {"rules": []})
    assert (loosened.environment_name, loosened.was, loosened.now) == (
        "production", "blocked", "allowed")
    assert loosened.failed_then == ["Staging first"] and loosened.failed_now == []
    assert vr.replay(datetime.now(timezone.utc) + timedelta(minutes=1), {"rules": []}) == []


def test_replay_bad_input(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as since:
        vr.replay("last tuesday")
    assert since.value.field == "since"
    with pytest.raises(versioner.InvalidInputError) as naive:
        vr.replay(datetime(2026, 1, 1))
    assert naive.value.field == "since"
    with pytest.raises(versioner.InvalidInputError) as policy:
        vr.replay(long_ago(), {"rules": [{"name": "X", "type": "teleport"}]})
    assert policy.value.problems and "teleport" in str(policy.value)
    with pytest.raises(versioner.InvalidInputError) as fmt:
        vr.replay(long_ago(), "rules = []", format="yaml")  # type: ignore[arg-type]
    assert fmt.value.field == "format"
    with pytest.raises(TypeError):
        vr.replay(long_ago(), 42)  # type: ignore[arg-type]


def test_the_audit_chain(db_path: Path) -> None:
    vr = versioner.Versioner(db_path)
    empty = vr.audit_verify()
    assert isinstance(empty, versioner.AuditReport)
    assert empty.intact and empty.entries == 0 and empty.head is None
    seed(vr)
    report = vr.audit_verify()
    assert report.intact and report.first_mismatch is None and report.reason is None
    assert report.entries == vr.last_event_seq() and report.unchained == 0
    assert report.head == vr.events_since(report.entries - 1, 1)[0].hash
    # Editing a row behind Versioner's back breaks the chain from that row on.
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE outbox SET actor = 'mallory' WHERE seq = 2")
    broken = vr.audit_verify()
    assert not broken.intact and broken.first_mismatch == 2 and broken.head is None
    assert broken.reason is not None and "changed" in broken.reason
    vr.close()


def test_events_stream_from_a_cursor(vr: versioner.Versioner) -> None:
    assert vr.last_event_seq() == 0 and vr.events_since() == []
    seed(vr)
    last = vr.last_event_seq()
    events = vr.events_since(0, 1000)
    assert [e.seq for e in events] == list(range(1, last + 1))
    assert all(isinstance(e, versioner.DomainEvent) and e.hash for e in events)
    assert all(e.occurred_at.tzinfo is not None for e in events)
    types = [e.event_type for e in events]
    assert types.index("deployment.preflight_failed") < types.index("deployment.started")
    refused = events[types.index("deployment.preflight_failed")]
    assert refused.actor == "dana" and refused.payload["event"]["environment_name"] == "production"
    assert vr.events_since(2, 2) == events[2:4]
    # A consumer reads from its cursor, delivers, acknowledges; the cursor never moves back.
    assert vr.cursor("webhook") == 0
    first = vr.events_since(vr.cursor("webhook"), 1)
    assert [e.seq for e in first] == [1]
    vr.acknowledge("webhook", first[-1].seq)
    assert vr.cursor("webhook") == 1
    assert [e.seq for e in vr.events_since(vr.cursor("webhook"), 1)] == [2]
    vr.acknowledge("webhook", last)
    vr.acknowledge("webhook", 1)
    assert vr.cursor("webhook") == last and vr.events_since(last) == []
    assert vr.cursor("metrics") == 0
    with pytest.raises(versioner.InvalidInputError) as beyond:
        vr.acknowledge("webhook", last + 1)
    assert beyond.value.field == "seq"
    with pytest.raises(versioner.InvalidInputError) as blank:
        vr.acknowledge(" ", 1)
    assert blank.value.field == "consumer"
    with pytest.raises(versioner.InvalidInputError) as after:
        vr.events_since(-1)
    assert after.value.field == "after"
    for limit in (0, -5):
        with pytest.raises(versioner.InvalidInputError) as e:
            vr.events_since(0, limit)
        assert e.value.field == "limit"


def test_acting_as_shares_the_stream_and_closing_refuses(vr: versioner.Versioner) -> None:
    seed(vr)
    dana = vr.acting_as("dana")
    dana.acknowledge("webhook", 2)
    assert vr.cursor("webhook") == 2
    assert dana.audit_verify().intact and dana.violations() == vr.violations()
    vr.close()
    for call in (vr.audit_verify, vr.last_event_seq, lambda: vr.replay(long_ago()),
                 lambda: vr.events_since(), lambda: vr.cursor("x"), vr.violations):
        with pytest.raises(versioner.InvalidInputError) as closed:
            call()
        assert closed.value.field == "self"
    assert dana.last_event_seq() > 0


def test_history_filters_the_emergency_bypasses(vr: versioner.Versioner) -> None:
    vr.track_deployment(product_name="api", version="1", environment_name="staging",
                        status="started")
    vr.track_deployment(product_name="api", version="1", environment_name="production",
                        status="started", skip_preflight_checks=True,
                        skip_preflight_reason="INC-9")
    skipped = vr.history(preflight="skipped")
    assert [d.environment_name for d in skipped] == ["production"]
    assert skipped[0].preflight is not None and skipped[0].preflight.bypass_reason == "INC-9"
    assert [d.environment_name for d in vr.history(preflight="passed")] == ["staging"]
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.history(preflight="maybe")  # type: ignore[arg-type]
    assert info.value.field == "preflight"
