"""Tracking builds and deployments, and the dry-run check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import versioner
from conftest import FRIDAY_AFTERNOON, deploy, utcnow


def test_track_build_records_every_field(vr: versioner.Versioner) -> None:
    b = vr.track_build(
        product_name="api",
        version="1.0.0",
        status="success",
        built_by="dana",
        built_by_email="dana@example.com",
        built_by_name="Dana",
        scm_sha="ABCDEF1234",
        scm_branch="main",
        scm_repository="acme/api",
        build_url="https://ci.example.com/42",
        build_number=42,
        source_system="github",
        invoke_id="run-1",
        started_at=datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc),
        completed_at="2026-01-01T12:05:00+02:00",
        extra_metadata={"ticket": "CHG-1", "nested": {"n": [1, 2.5, True, None]}},
    )
    assert isinstance(b, versioner.Build)
    assert (b.product_name, b.version, b.status) == ("api", "1.0.0", "completed")
    assert b.scm_sha == "abcdef1234"
    assert b.build_number == "42"
    assert b.built_by_email == "dana@example.com"
    assert b.started_at == datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert b.completed_at == datetime(2026, 1, 1, 10, 5, tzinfo=timezone.utc)
    assert b.completed_at is not None and b.completed_at.tzinfo is not None
    assert b.extra_metadata == {"ticket": "CHG-1", "nested": {"n": [1, 2.5, True, None]}}
    v = vr.version("api", "1.0.0")
    assert v.scm_sha == "abcdef1234" and v.built_by == "dana"


def test_failed_build_keeps_its_error(vr: versioner.Versioner) -> None:
    b = vr.track_build(
        product_name="api", version="2", status="FAILURE", error_message="boom", error_code="E1"
    )
    assert (b.status, b.error_message, b.error_code) == ("failed", "boom", "E1")


def test_build_lifecycle_closes_the_open_build(vr: versioner.Versioner) -> None:
    started = vr.track_build(product_name="api", version="3", status="building")
    assert started.status == "started" and started.completed_at is None
    done = vr.track_build(product_name="api", version="3", status="built")
    assert done.id == started.id and done.status == "completed"
    assert done.completed_at is not None


@pytest.mark.parametrize(
    "alias,status",
    [
        ("pending", "pending"),
        ("queued", "pending"),
        ("in_progress", "started"),
        ("Deploying", "started"),
        ("success", "completed"),
        ("DEPLOYED", "completed"),
        ("  finished ", "completed"),
        ("error", "failed"),
        ("cancelled", "aborted"),
        ("canceled", "aborted"),
        ("skipped", "aborted"),
    ],
)
def test_status_aliases(vr: versioner.Versioner, alias: str, status: str) -> None:
    d = deploy(vr, "1.0", "dev", alias)
    assert d.status == status


def test_deployment_lifecycle(vr: versioner.Versioner) -> None:
    started = deploy(vr, "1.0", "staging", "started", deployed_by="dana")
    assert started.is_open and started.started_at is not None
    assert started.preflight is not None and started.preflight.status == "passed"
    done = deploy(vr, "1.0", "staging", "completed", deploy_url="https://ci/1")
    assert done.id == started.id
    assert not done.is_open
    assert done.deployed_by == "dana" and done.deploy_url == "https://ci/1"
    assert done.completed_at is not None and done.completed_at >= done.deployed_at


def test_deployment_records_every_field(vr: versioner.Versioner) -> None:
    d = vr.track_deployment(
        product_name="api",
        version=7,
        environment_name="prod-eu",
        status="success",
        deployed_by="dana",
        deployed_by_email="d@example.com",
        deployed_by_name="Dana",
        scm_sha="abcd1234",
        scm_repository="acme/api",
        scm_branch="main",
        build_number="99",
        source_system="gitlab",
        invoke_id="pipe-1",
        deploy_url="https://ci/d",
        build_url="https://ci/b",
        completed_at=datetime(2026, 2, 1, tzinfo=timezone.utc),
        extra_metadata={"k": "v"},
    )
    assert d.version == "7" and d.environment_name == "prod-eu"
    assert d.scm_sha == "abcd1234" and d.invoke_id == "pipe-1"
    assert d.completed_at == datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert d.extra_metadata == {"k": "v"}
    # Completed with no start before it: preflighted like a start (no rule here, so passed).
    assert d.preflight is not None and d.preflight.status == "passed"
    env = {e.name: e for e in vr.environments()}["prod-eu"]
    assert env.type == "production"


def test_same_invoke_id_and_status_is_idempotent(vr: versioner.Versioner) -> None:
    a = deploy(vr, "1.0", "dev", "started", invoke_id="run-9")
    b = deploy(vr, "1.0", "dev", "started", invoke_id="run-9")
    assert a.id == b.id
    assert len(vr.history(product_name="api")) == 1


def test_version_conflict(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0", status="success", scm_sha="aaaa1111")
    with pytest.raises(versioner.VersionConflictError) as info:
        vr.track_build(product_name="api", version="1.0", status="success", scm_sha="bbbb2222")
    e = info.value
    assert e.code == "VERSION_CONFLICT" and e.http_status == 409 and e.exit_code == 4
    assert (e.product_name, e.version, e.recorded_sha, e.given_sha) == (
        "api",
        "1.0",
        "aaaa1111",
        "bbbb2222",
    )
    assert "immutable" in str(e)
    # An abbreviated SHA of the same commit is not a conflict; no SHA never conflicts.
    vr.track_build(product_name="api", version="1.0", status="success", scm_sha="aaaa")
    deploy(vr, "1.0", "dev")


def test_emergency_bypass_needs_a_reason_and_is_recorded(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "flow", "type": "flow", "environments": ["prod"],
                 "prerequisites": ["staging"]})
    with pytest.raises(versioner.InvalidInputError) as info:
        deploy(vr, "1.0", "prod", "started", skip_preflight_checks=True)
    assert info.value.field == "skip_preflight_reason"
    d = deploy(vr, "1.0", "prod", "started", skip_preflight_checks=True,
               skip_preflight_reason="hotfix INC-42")
    assert d.preflight is not None
    assert d.preflight.status == "skipped"
    assert d.preflight.bypass_reason == "hotfix INC-42"
    assert not d.preflight.verdict.allowed
    assert d.preflight.verdict.code == "FLOW_VIOLATION"


def test_check_is_a_dry_run(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "flow", "type": "flow", "environments": ["prod"],
                 "prerequisites": ["staging"]})
    v = vr.check(product_name="api", version="1.0", environment_name="prod", deployed_by="dana")
    assert isinstance(v, versioner.Verdict)
    assert v.decision == "blocked" and not v.allowed
    assert (v.code, v.http_status) == ("FLOW_VIOLATION", 428)
    assert v.product_name == "api" and v.environment_name == "prod"
    assert [o.rule_name for o in v.outcomes] == ["flow"]
    assert v.primary is not None and v.primary.rule_name == "flow"
    assert v.failures == v.outcomes and v.warnings == []
    assert "blocked" in v.summary and str(v) == v.summary
    assert vr.products() == []  # nothing recorded
    ok = vr.check(product_name="api", version="1.0", environment_name="dev")
    assert ok.allowed and ok.code is None and ok.http_status is None
    assert ok.outcomes[0].status == "not_applicable"


def test_check_at_an_instant(vr: versioner.Versioner) -> None:
    vr.add_rule(
        {
            "name": "Friday freeze",
            "type": "schedule",
            "timezone": "UTC",
            "windows": [{"recurrence": "weekly", "days": ["fri"], "start": "12:00",
                         "end": "18:00"}],
        }
    )
    v = vr.check(product_name="api", version="1", environment_name="prod",
                 at=FRIDAY_AFTERNOON)
    assert v.code == "NO_DEPLOY_WINDOW" and v.http_status == 423
    assert v.evaluated_at == FRIDAY_AFTERNOON
    assert v.retry_after == datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
    assert v.outcomes[0].retry_after == v.retry_after
    later = vr.check(product_name="api", version="1", environment_name="prod",
                     at="2026-11-20T18:00:00Z")
    assert later.allowed
    # A datetime in another zone is the same instant.
    eastern = FRIDAY_AFTERNOON.astimezone(timezone(timedelta(hours=-5)))
    assert not vr.check(product_name="api", version="1", environment_name="prod",
                        at=eastern).allowed


def test_report_only_rules_warn(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "qa", "type": "version_approval", "approval_types": ["qa"],
                 "status": "report_only"})
    d = deploy(vr, "1.0", "prod", "started")
    assert d.preflight is not None and d.preflight.status == "passed"
    assert [w.rule_name for w in d.warnings] == ["qa"]
    assert d.warnings[0].status == "failed_report_only"
    assert d.warnings[0].failed and not d.warnings[0].blocks


def test_timestamps_are_aware_utc(vr: versioner.Versioner) -> None:
    before = utcnow() - timedelta(seconds=1)
    d = deploy(vr, "1.0", "dev")
    for t in (d.deployed_at, d.updated_at, d.completed_at):
        assert t is not None
        assert t.tzinfo is not None and t.utcoffset() == timedelta(0)
        assert before <= t <= utcnow() + timedelta(seconds=1)


def test_file_database_persists(db_path) -> None:  # type: ignore[no-untyped-def]
    a = versioner.Versioner(db_path)
    assert a.path == db_path
    deploy(a, "1.0", "staging")
    del a
    b = versioner.Versioner(str(db_path), synchronous="normal")
    assert b.state().version("api", "staging") == "1.0"
    assert repr(b) == f"Versioner(path={str(db_path)!r})"
    assert repr(versioner.Versioner()) == "Versioner(path=None)"
    assert versioner.Versioner().path is None


def test_two_instances_share_one_file(db_path) -> None:  # type: ignore[no-untyped-def]
    a = versioner.Versioner(db_path)
    b = versioner.Versioner(db_path)
    deploy(a, "1.0", "dev")
    assert b.state().version("api", "dev") == "1.0"
