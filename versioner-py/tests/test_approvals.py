"""Approvals: approve, revoke, list, and the rules that need them."""

from __future__ import annotations

import pytest

import versioner
from conftest import deploy


def test_approve_list_and_revoke(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0", status="success", built_by="bob")
    a = vr.approve(
        product_name="api",
        version="1.0",
        approval_type="Code Review",
        approver="alice",
        approver_role="Developer",
        environment_name="production",
        comment="lgtm",
    )
    assert isinstance(a, versioner.Approval)
    assert (a.approval_type, a.approver, a.approver_role) == ("code_review", "alice", "developer")
    assert (a.environment, a.comment, a.is_active) == ("production", "lgtm", True)
    assert a.granted_at.tzinfo is not None and a.revoked_at is None
    assert vr.approvals("api", "1.0") == [a]
    r = vr.revoke_approval(a.id, "carol", "wrong build")
    assert not r.is_active and r.revoked_by == "carol" and r.revoke_reason == "wrong build"
    assert r.revoked_at is not None
    assert vr.approvals("api", "1.0") == [r]
    with pytest.raises(versioner.InvalidInputError) as again:
        vr.revoke_approval(a.id, "carol", "twice")
    assert "already revoked" in str(again.value)
    with pytest.raises(versioner.NotFoundError) as nf:
        vr.revoke_approval("no-such-id", "carol", "x")
    assert nf.value.kind == "approval"


def test_approval_needs_a_recorded_version(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.NotFoundError):
        vr.approve(product_name="api", version="9", approval_type="qa", approver="q")
    with pytest.raises(versioner.NotFoundError):
        vr.approvals("api", "9")
    vr.track_build(product_name="api", version="9", status="success")
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.approve(product_name="api", version="9", approval_type="qa!", approver="q")
    assert bad.value.field == "approval_type"


def test_release_approvals_unblock_a_deployment(vr: versioner.Versioner) -> None:
    vr.apply_policy(
        '[[rules]]\nname = "two"\ntype = "release_approval"\nenvironments = ["prod"]\n'
        "required = 2\n"
    )
    vr.track_build(product_name="api", version="1.0", status="success", built_by="bob")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "1.0", "prod", "started", deployed_by="dana")
    e = info.value
    assert e.code == "APPROVAL_REQUIRED" and e.http_status == 428 and e.retry_after is None
    # The builder and the deployer never count.
    for who in ("bob", "dana", "alice"):
        vr.approve(product_name="api", version="1.0", approval_type="release", approver=who)
    v = vr.check(product_name="api", version="1.0", environment_name="prod", deployed_by="dana")
    assert v.code == "APPROVAL_REQUIRED"
    vr.approve(product_name="api", version="1.0", approval_type="release", approver="erin")
    d = deploy(vr, "1.0", "prod", "started", deployed_by="dana")
    assert d.status == "started"


def test_quality_approval(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "qa", "type": "version_approval", "approval_types": ["qa"]})
    vr.track_build(product_name="api", version="2.0", status="success")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "2.0", "prod", "started")
    assert info.value.code == "QUALITY_APPROVAL_REQUIRED"
    assert info.value.violations[0].details["missing_approval_types"] == ["qa"]
    vr.approve(product_name="api", version="2.0", approval_type="QA", approver="quinn")
    assert deploy(vr, "2.0", "prod", "started").preflight is not None
