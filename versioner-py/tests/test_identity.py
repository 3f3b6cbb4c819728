"""Identity: the actor of a write, approvals as the actor's own with its role, the approval
catalog, and self-approval exclusion by principal."""

from __future__ import annotations

from pathlib import Path

import pytest

import versioner
from conftest import deploy


def test_the_actor_records_events_and_approvals(vr: versioner.Versioner) -> None:
    dana = vr.acting_as("dana", role="sre")
    b = dana.track_build(product_name="api", version="1.0", status="success")
    assert (b.built_by, b.recorded_by) == ("dana", "dana")
    d = dana.track_deployment(product_name="api", version="1.0", environment_name="staging",
                              status="success", deployed_by="ci-user")
    assert (d.deployed_by, d.recorded_by) == ("ci-user", "dana")
    a = dana.approve(product_name="api", version="1.0", approval_type="performance")
    assert (a.approver, a.approver_role) == ("dana", "sre")
    with pytest.raises(versioner.InvalidInputError) as other:
        dana.approve(product_name="api", version="1.0", approval_type="release", approver="rita")
    assert other.value.field == "approver" and "acts as `dana`" in str(other.value)
    with pytest.raises(versioner.AuthError) as forbidden:
        dana.approve(product_name="api", version="1.0", approval_type="security")
    assert forbidden.value.code == "FORBIDDEN"
    assert "may not grant `security` approvals" in str(forbidden.value)
    with pytest.raises(versioner.InvalidInputError) as typo:
        dana.approve(product_name="api", version="1.0", approval_type="secuirty")
    assert typo.value.field == "approval_type"
    assert "accepted: qa, security, uat, code_review" in str(typo.value)
    assert len(vr.approvals("api", "1.0")) == 1, "the refusals wrote nothing"
    # Rule changes record the actor; `actor` may be left out.
    vr.add_rule({"name": "Serial", "type": "concurrency"})
    dana.set_rule_status("Serial", "disabled", None, "INC-1")
    dana.apply_policy({"rules": [{"name": "Serial", "type": "concurrency"}]})
    assert [c.actor for c in vr.rule_history("Serial")] == ["dana", "dana"]


def test_the_open_actor_and_a_viewer_role(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with versioner.Versioner(path, actor="vic") as vic:
        b = vic.track_build(product_name="api", version="1", status="success")
        assert b.recorded_by == "vic"
        viewer = vic.acting_as("val", role="viewer")
        with pytest.raises(versioner.AuthError):
            viewer.add_rule({"name": "x", "type": "concurrency"})
        assert vic.rules() == []
    with pytest.raises(versioner.InvalidInputError) as bad:
        versioner.Versioner(None).acting_as("x", role="wizard")
    assert bad.value.field == "role"


def test_a_false_deployed_by_cannot_defeat_self_approval_exclusion(vr: versioner.Versioner) -> None:
    vr.apply_policy('[[rules]]\nname = "one"\ntype = "release_approval"\n'
                    'environments = ["prod"]\nrequired = 1\n')
    vr.track_build(product_name="api", version="1.0", status="success", built_by="bob")
    dee = vr.acting_as("dee", role="sre")
    dee.approve(product_name="api", version="1.0", approval_type="release")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(dee, "1.0", "prod", "started", deployed_by="zed")
    assert info.value.code == "APPROVAL_REQUIRED"
    assert deploy(vr.acting_as("eve"), "1.0", "prod", "started", deployed_by="zed").preflight


def test_the_policy_declares_approval_types(vr: versioner.Versioner) -> None:
    vr.apply_policy('[approvals]\ntypes = ["change_board"]\n'
                    '[approvals.grants]\nqa = ["qa", "change_board"]\n')
    vr.track_build(product_name="api", version="1", status="success")
    a = vr.acting_as("quinn", role="qa").approve(product_name="api", version="1",
                                                 approval_type="Change Board")
    assert a.approval_type == "change_board"
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.apply_policy('[approvals.grants]\nwizard = ["qa"]\nviewer = ["qa"]\n')
    assert [p.field for p in bad.value.problems] == ["grants.viewer", "grants.wizard"]
