"""Deployment Requests from Python, end to end: what the preflight says at each step of a
request's life, who may fill its slots, its steps, completion by deployments, the progress
grid, templates, filters, and every error path's exception, code and message."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest

import versioner
from conftest import deploy

POLICY = """
[[rules]]
name = "DR for production"
type = "deployment_request_required"
environments = ["production"]
approval_types = ["qa", "security"]
"""

PRE = "Announce in #deploys"
POST = "Check the dashboards"


@pytest.fixture
def dr_vr(vr: versioner.Versioner) -> versioner.Versioner:
    """A Versioner whose production needs an approved DR with qa and security, and three
    built products."""
    vr.apply_policy(POLICY)
    for p in ("api", "web", "worker"):
        vr.track_build(product_name=p, version="1.0.0", status="completed")
    return vr


def start(vr: versioner.Versioner, product: str = "api", env: str = "production") -> None:
    deploy(vr, "1.0.0", env, "started", product=product)


def blocked(vr: versioner.Versioner, product: str = "api",
            env: str = "production") -> versioner.DeploymentBlockedError:
    """Starts a deployment that must be refused; returns the exception (nothing recorded)."""
    before = len(vr.history())
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        start(vr, product, env)
    assert len(vr.history()) == before, "a refused deployment records nothing"
    e = info.value
    assert (e.http_status, e.exit_code) == (428, 5)
    return e


def q4(vr: versioner.Versioner, **extra: Any) -> versioner.DeploymentRequest:
    fields: dict[str, Any] = dict(
        versions=[("api", "1.0.0")], environments=["production"], slots=["qa", "security"],
        pre_steps=[PRE], post_steps=[POST], created_by="dana",
    )
    fields.update(extra)
    return vr.create_request("Q4", **fields)


def test_a_request_governs_production_from_draft_to_completed(dr_vr: versioner.Versioner) -> None:
    vr = dr_vr
    # No DR at all.
    e = blocked(vr)
    assert type(e) is versioner.DeploymentRequestRequiredError
    assert e.code == "DEPLOYMENT_REQUEST_REQUIRED" and e.rule_name == "DR for production"
    assert "`api` 1.0.0 to `production` needs an approved Deployment Request with the " \
           "approvals qa, security" in e.message
    assert "no submitted Deployment Request covers it (a draft does not count)" in e.message
    # A draft does not count.
    dr = q4(vr, description="The Q4 platform release", release_notes="Faster checkout",
            issue_links=["https://issues.example.com/42"], metadata={"ticket": "CHG-42"})
    assert (dr.status, dr.name, dr.created_by) == ("draft", "Q4", "dana")
    assert not dr.allow_self_approval, "production: the creator may not fill required slots"
    assert [(v.product_name, v.version) for v in dr.versions] == [("api", "1.0.0")]
    assert [(s.approval_type, s.optional, s.status) for s in dr.slots] == [
        ("qa", False, "pending"), ("security", False, "pending")]
    assert [(s.text, s.phase, s.is_done) for s in dr.steps] == [
        (PRE, "pre", False), (POST, "post", False)]
    assert dr.context == versioner.RequestContext(
        release_notes="Faster checkout", issue_links=["https://issues.example.com/42"],
        metadata={"ticket": "CHG-42"})
    assert dr.description == "The Q4 platform release" and dr.missing_slots == ["qa", "security"]
    assert type(blocked(vr)) is versioner.DeploymentRequestRequiredError
    # Submitted, both slots missing: pending, named after the DR, naming what is missing.
    dr = vr.submit_request(dr.id, actor="dana", role="developer", comment="Ready for review")
    assert dr.status == "in_progress"
    verdict = vr.check(product_name="api", version="1.0.0", environment_name="production")
    pending = next(o for o in verdict.outcomes if o.code == "DEPLOYMENT_REQUEST_PENDING")
    assert pending.rule_name == "Deployment Request: Q4"
    assert pending.details["missing_slots"] == ["qa", "security"]
    assert pending.details["open_pre_steps"] == [PRE]
    assert verdict.retry_after is None
    # One slot approved: the other is missing.
    dr = vr.approve_request(dr.id, "qa", actor="quinn", role="qa", comment="Regression green")
    assert dr.status == "in_progress" and dr.missing_slots == ["security"]
    qa = dr.slots[0]
    assert (qa.status, qa.decided_by, qa.decided_role, qa.comment) == (
        "approved", "quinn", "qa", "Regression green")
    assert qa.decided_at is not None and qa.decided_at.tzinfo is not None
    e = blocked(vr)
    assert isinstance(e, (versioner.DeploymentRequestPendingError,
                          versioner.DeploymentRequestRequiredError))
    assert "security" in e.message
    # A principal whose role may not grant `security`: FORBIDDEN, nothing written.
    before = vr.request(dr.id)
    events = vr.last_event_seq()
    with pytest.raises(versioner.AuthError) as auth:
        vr.approve_request(dr.id, "security", actor="devon", role="developer")
    assert (auth.value.code, auth.value.http_status, auth.value.exit_code) == (
        "FORBIDDEN", 403, 4)
    assert "may not grant `security`" in auth.value.message
    assert vr.request(dr.id) == before and vr.last_event_seq() == events
    # The creator may not fill a required slot (self-approval is off): FORBIDDEN too.
    with pytest.raises(versioner.AuthError) as auth:
        vr.approve_request(dr.id, "security", actor="dana", role="security")
    assert auth.value.code == "FORBIDDEN"
    assert "`dana` created Deployment Request `Q4` and may not fill its required " \
           "`security` slot" in auth.value.message
    # Both approved: approved, but the pre-step is open.
    dr = vr.approve_request(dr.id, "security", actor="sam", role="security")
    assert dr.status == "approved" and dr.missing_slots == []
    e = blocked(vr)
    assert type(e) is versioner.DeploymentRequestPendingError
    assert e.code == "DEPLOYMENT_REQUEST_PENDING" and e.rule_name == "Deployment Request: Q4"
    assert PRE in e.message
    # A post-deployment step before deploying: refused.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.request_step_done(dr.id, POST, actor="dana", role="developer")
    assert bad.value.field == "step"
    assert f'"{POST}" is a post-deployment step: it can be done once Deployment Request ' \
           "`Q4` is approved and every deployment succeeded (0 of 1 deployed)" in bad.value.message
    # An unknown step names the request's steps.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.request_step_done(dr.id, "Pray", actor="dana", role="developer")
    assert bad.value.message == (
        f'invalid `step`: Deployment Request `Q4` has no step "Pray"; its steps: "{PRE}", '
        f'"{POST}"')
    # The pre-step done: the deployment goes ahead.
    dr = vr.request_step_done(dr.id, PRE, actor="dana", role="developer")
    assert dr.steps[0].is_done and dr.steps[0].done_by == "dana"
    assert dr.open_steps("pre") == [] and dr.open_steps("post") == [POST]
    start(vr)
    cell = vr.request_progress(dr.id).cell("api", "production")
    assert cell is not None and cell.state == "in_progress"
    deploy(vr, "1.0.0", "production", "completed")
    dr = vr.request(dr.id)
    assert dr.status == "approved", "the post-step is open"
    assert dr.deployed_at is not None
    # The post-step done: completed.
    dr = vr.request_step_done(dr.id, POST, actor="dana", role="developer")
    assert dr.status == "completed"
    assert [t.action for t in dr.history] == [
        "created", "submitted", "slot_approved", "slot_approved", "approved", "step_done",
        "deployed", "step_done", "completed"]
    first, submitted = dr.history[0], dr.history[1]
    assert (first.from_status, first.to_status, first.by) == (None, "draft", "dana")
    assert (submitted.from_status, submitted.to_status, submitted.comment) == (
        "draft", "in_progress", "Ready for review")
    # The outbox carries the reference's dr.* events.
    kinds = [e.event_type for e in vr.events_since(0, 1000) if e.event_type.startswith("dr.")]
    assert [k for k in kinds if k != "dr.updated"] == [
        "dr.created", "dr.activated", "dr.approved", "dr.approved", "dr.completed"]
    # A completed request covers nothing: the rule asks for a new one.
    assert type(blocked(vr)) is versioner.DeploymentRequestRequiredError
    # Acting on a completed request names its status.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.cancel_request(dr.id, actor="dana")
    assert bad.value.field == "status"
    assert bad.value.message == (
        "invalid `status`: Deployment Request `Q4` is completed; it can be cancelled only "
        "when draft or in_progress or approved or rejected")


def test_a_submitted_request_missing_a_slot_blocks(dr_vr: versioner.Versioner) -> None:
    vr = dr_vr
    # Only qa in the DR: submitted and approved, it still lacks security for the rule.
    dr = vr.create_request("QA only", versions={"api": "1.0.0"}, environments=["production"],
                           slots=["qa"], created_by="dana")
    vr.submit_request(dr.id, actor="dana", role="developer")
    dr = vr.approve_request(dr.id, "qa", actor="quinn", role="qa")
    assert dr.status == "approved"
    e = blocked(vr)
    assert type(e) is versioner.DeploymentRequestRequiredError
    assert "`QA only` is approved and lacks security" in e.message


def test_a_rejected_slot_blocks_until_reworked(dr_vr: versioner.Versioner) -> None:
    vr = dr_vr
    dr = q4(vr)
    vr.submit_request(dr.id, actor="dana", role="developer")
    # Rejecting needs a comment.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.reject_request(dr.id, "qa", comment=None, actor="quinn", role="qa")
    assert bad.value.field == "comment"
    assert bad.value.message == ("invalid `comment`: is required to reject a slot: say why, "
                                 "so the requester can act on it")
    assert vr.request(dr.id).slots[0].status == "pending"
    dr = vr.reject_request(dr.id, "qa", comment="fails the smoke tests", actor="quinn",
                           role="qa")
    assert dr.status == "rejected" and dr.slots[0].status == "rejected"
    assert dr.slots[0].comment == "fails the smoke tests"
    e = blocked(vr)
    assert type(e) is versioner.DeploymentRequestPendingError
    assert "was rejected (qa by quinn" in e.message
    # No second decision by the same person.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.approve_request(dr.id, "qa", actor="quinn", role="qa")
    assert bad.value.field == "status" and "is rejected" in bad.value.message
    # Deactivated: back to draft, decisions cleared, editable again.
    dr = vr.deactivate_request(dr.id, actor="dana", comment="rework")
    assert dr.status == "draft" and [s.status for s in dr.slots] == ["pending", "pending"]
    dr = vr.update_request(dr.id, name="Q4 (take 2)", optional_slots=["performance"],
                           slots=["qa", "security"], actor="dana")
    assert dr.name == "Q4 (take 2)"
    assert [(s.approval_type, s.optional) for s in dr.slots] == [
        ("qa", False), ("security", False), ("performance", True)]
    # Cancelled: it covers nothing any more.
    dr = vr.cancel_request(dr.id, actor="dana")
    assert dr.status == "cancelled"
    assert vr.requests(status="cancelled") == [dr]


def test_a_multi_product_request_progress_grid(dr_vr: versioner.Versioner) -> None:
    vr = dr_vr
    dr = vr.create_request(
        "Platform 3", versions=[("api", "1.0.0"), ("web", "1.0.0"), ("worker", "1.0.0")],
        environments=["staging", "production"], slots=["qa", "security"], created_by="dana")

    def grid() -> List[tuple[str, str, str]]:
        return [(c.product_name, c.environment, c.state)
                for c in vr.request_progress(dr.id).cells]

    assert grid() == [(p, e, "not_deployed") for p in ("api", "web", "worker")
                      for e in ("staging", "production")]
    vr.submit_request(dr.id, actor="dana", role="developer")
    # Staging is covered too: pending until approved.
    assert type(blocked(vr, "web", "staging")) is versioner.DeploymentRequestPendingError
    vr.approve_request(dr.id, "qa", actor="quinn", role="qa")
    vr.approve_request(dr.id, "security", actor="sam", role="security")
    deploy(vr, "1.0.0", "staging", "started", product="api")
    deploy(vr, "1.0.0", "staging", "completed", product="api")
    deploy(vr, "1.0.0", "staging", "started", product="web")
    deploy(vr, "1.0.0", "staging", "failed", product="web")
    deploy(vr, "1.0.0", "staging", "started", product="worker")
    assert [s for _, _, s in grid()] == [
        "deployed", "not_deployed", "failed", "not_deployed", "in_progress", "not_deployed"]
    progress = vr.request_progress(dr.id)
    assert (progress.request_id, progress.status, progress.deployed) == (dr.id, "approved", False)
    api = progress.cell("api", "staging")
    assert api is not None and api.deployment_id == vr.history(
        product_name="api", environment_name="staging")[0].id
    assert progress.cell("api", "nowhere") is None
    deploy(vr, "1.0.0", "staging", "completed", product="worker")
    deploy(vr, "1.0.0", "staging", "started", product="web")
    deploy(vr, "1.0.0", "staging", "completed", product="web")
    for p in ("api", "web", "worker"):
        deploy(vr, "1.0.0", "production", "started", product=p)
        assert vr.request(dr.id).status != "completed"
        deploy(vr, "1.0.0", "production", "completed", product=p)
    assert {s for _, _, s in grid()} == {"deployed"}
    progress = vr.request_progress(dr.id)
    assert progress.deployed and progress.status == "completed", "no post-steps: completed"
    # Filters.
    assert [r.id for r in vr.requests(product="worker")] == [dr.id]
    assert vr.requests(product="worker", status="draft") == []
    assert [r.id for r in vr.requests(environment="staging", status="Completed")] == [dr.id]
    assert vr.requests(releases_only=True) == []


def test_releases_and_edits(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="2.0", status="completed")
    vr.track_build(product_name="web", version=7, status="completed")
    rel = vr.create_request("Spring", versions={"api": "2.0"}, created_by="dana")
    assert rel.is_release and rel.environments == []
    rel = vr.update_request(rel.id, add_versions=[("web", 7)], environments=["prod"],
                            release_notes="Notes", actor="dana")
    assert [(v.product_name, v.version) for v in rel.versions] == [("api", "2.0"), ("web", "7")]
    assert rel.context.release_notes == "Notes" and rel.environments == ["prod"]
    rel = vr.update_request(rel.id, remove_versions=["web"], actor="dana")
    assert [v.product_name for v in rel.versions] == ["api"]
    rel = vr.submit_request(rel.id, actor="dana")
    assert rel.status == "approved", "a release has no required slot"
    assert [r.id for r in vr.requests(releases_only=True)] == [rel.id]
    rel = vr.complete_request(rel.id, actor="dana", comment="shipped")
    assert rel.status == "completed" and rel.history[-1].comment == "shipped"


def test_templates_prefill_requests(vr: versioner.Versioner, tmp_path: Path) -> None:
    vr.track_build(product_name="api", version="1.0.0", status="completed")
    saved = vr.put_request_templates(
        '[[templates]]\nname = "Production change"\ndescription = "Standard change"\n'
        'slots = [{ approval_type = "qa" }, { approval_type = "security", optional = true }]\n'
        'pre_steps = ["Freeze merges"]\npost_steps = ["Check the dashboards"]\n'
        'environments = ["production"]\nallow_self_approval = true\n')
    assert saved == vr.request_templates()
    t = saved[0]
    assert (t.name, t.description, t.pre_steps, t.post_steps, t.environments,
            t.allow_self_approval) == ("Production change", "Standard change",
                                       ["Freeze merges"], ["Check the dashboards"],
                                       ["production"], True)
    assert t.slots == [versioner.SlotSpec("qa"), versioner.SlotSpec("security", optional=True)]
    dr = vr.create_request("From the template", versions=[("api", "1.0.0")],
                           template="Production change", created_by="dana")
    assert (dr.template, dr.description, dr.environments, dr.allow_self_approval) == (
        "Production change", "Standard change", ["production"], True)
    assert [(s.approval_type, s.optional) for s in dr.slots] == [("qa", False),
                                                                 ("security", True)]
    assert [s.text for s in dr.steps] == ["Freeze merges", "Check the dashboards"]
    # Records, dicts, a dict with `templates` and a file are accepted too.
    other = versioner.RequestTemplate(name="Other", slots=[versioner.SlotSpec("uat")])
    assert vr.put_request_templates([other, {"name": "Third"}])[0] == other
    assert vr.put_request_templates({"templates": [{"name": "Fourth"}]})[0].name == "Fourth"
    path = tmp_path / "templates.json"
    path.write_text('{"templates": [{"name": "Fifth", "pre_steps": ["Ping"]}]}')
    assert vr.put_request_templates(path)[0].pre_steps == ["Ping"]
    assert sorted(t.name for t in vr.request_templates()) == [
        "Fifth", "Fourth", "Other", "Production change", "Third"]
    vr.delete_request_template("Third")
    assert "Third" not in [t.name for t in vr.request_templates()]
    # Error paths: all or none.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.put_request_templates("[[templates]]\nnmae = 1\n")
    assert bad.value.field == "templates" and "not valid TOML" in bad.value.message
    assert "nmae" in bad.value.message
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.put_request_templates([{"name": "Sixth"}, {"name": "Sixth"}])
    assert bad.value.message == "invalid `name`: the template `Sixth` is given twice"
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.put_request_templates([{"name": "Seventh", "colour": "red"}])
    assert bad.value.field == "templates[0]" and "unknown field `colour`" in bad.value.message
    assert "Sixth" not in [t.name for t in vr.request_templates()]
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.delete_request_template("Third")
    assert (gone.value.code, gone.value.kind, gone.value.name) == ("NOT_FOUND", "template",
                                                                   "Third")
    assert gone.value.message == "template `Third` not found"
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.create_request("x", template="Nope", created_by="dana")
    assert gone.value.kind == "template"
    with pytest.raises(TypeError, match="`templates` must be template-file text"):
        vr.put_request_templates(42)  # type: ignore[arg-type]


def test_error_paths(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0.0", status="completed")
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.request("no-such-id")
    e = gone.value
    assert (e.code, e.http_status, e.kind, e.name) == (
        "NOT_FOUND", 404, "deployment request", "no-such-id")
    assert e.message == "deployment request `no-such-id` not found"
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.request_progress("no-such-id")
    assert gone.value.kind == "deployment request"
    with pytest.raises(versioner.NotFoundError) as gone:
        vr.create_request("x", versions=[("api", "9.9")], created_by="dana")
    assert gone.value.code == "NOT_FOUND"
    # Blank name; two versions of one product; an unknown approval type.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.create_request(" ", created_by="dana")
    assert bad.value.message == "invalid `name`: is required and must not be blank"
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.create_request("x", slots=["vibes"], created_by="dana")
    assert bad.value.code == "INVALID_INPUT" and "vibes" in bad.value.message
    # No one acting: the in-process tracker has no actor.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.create_request("x")
    assert bad.value.field == "created_by"
    assert "is required: who does this" in bad.value.message
    # A draft without a version cannot be submitted.
    empty = vr.create_request("empty", environments=["production"], created_by="dana")
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.submit_request(empty.id, actor="dana")
    assert bad.value.field == "versions"
    assert bad.value.message == (
        "invalid `versions`: Deployment Request `empty` has no product version; add at least "
        "one before submitting it")
    assert vr.request(empty.id).status == "draft"
    # Submitted twice: the message names the status.
    dr = vr.create_request("twice", versions=[("api", "1.0.0")], environments=["staging"],
                           slots=["qa"], created_by="dana")
    vr.submit_request(dr.id, actor="dana")
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.submit_request(dr.id, actor="dana")
    assert bad.value.message == ("invalid `status`: Deployment Request `twice` is in_progress; "
                                 "it can be submitted only when draft")
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.approve_request(dr.id, "security", actor="sam", role="security")
    assert bad.value.code == "INVALID_INPUT" and "security" in bad.value.message
    # An unknown status filter names the accepted ones.
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.requests(status="open")
    assert bad.value.message == (
        "invalid `status`: unknown Deployment Request status `open`; expected one of: draft, "
        "in_progress, approved, rejected, completed, cancelled")
    # Argument shapes: refused before the core is called, naming the argument.
    with pytest.raises(TypeError, match=r"`versions\[0\]` must be a \(product, version\) pair"):
        vr.create_request("x", versions=["api"], created_by="dana")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="`versions` must be a list of"):
        vr.create_request("x", versions="api", created_by="dana")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`environments` must be a list of str, not a str"):
        vr.create_request("x", environments="prod", created_by="dana")
    with pytest.raises(TypeError, match=r"`slots\[0\]` must be an approval type"):
        vr.create_request("x", slots=[1], created_by="dana")  # type: ignore[list-item]
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.create_request("x", slots=[{"type": "qa"}], created_by="dana")
    assert bad.value.field == "slots[0]" and "unknown field `type`" in bad.value.message
    with pytest.raises(versioner.InvalidInputError) as bad:
        vr.create_request("x", metadata=[1], created_by="dana")  # type: ignore[arg-type]
    assert bad.value.message == "invalid `metadata`: must be a dict (a JSON object)"


def test_the_client_offers_the_same_methods() -> None:
    """Client and Versioner share Tracker's Deployment Request methods (the server routes are
    exercised where the server implements them)."""
    for name in ("create_request", "update_request", "submit_request", "approve_request",
                 "reject_request", "request_step_done", "deactivate_request", "cancel_request",
                 "complete_request", "request", "requests", "request_progress",
                 "request_templates", "put_request_templates", "delete_request_template"):
        assert getattr(versioner.Client, name) is getattr(versioner.Tracker, name)
        assert getattr(versioner.Versioner, name) is getattr(versioner.Tracker, name)


def test_the_rule_kind_round_trips(vr: versioner.Versioner) -> None:
    vr.apply_policy(POLICY.replace('approval_types = ["qa", "security"]',
                                   'approval_types = ["qa"]\napproval_timeout = "3d"'))
    rule = vr.rule("DR for production")
    assert rule.type == "deployment_request_required"
    from datetime import timedelta
    assert rule.parameters == {"approval_types": ["qa"], "approval_timeout": timedelta(days=3)}
    assert rule.definition()["approval_timeout"] == "3d"
    vr.update_rule("DR for production", rule)
    assert vr.rule("DR for production").parameters == rule.parameters


def test_the_trackers_actor_acts_when_none_is_named(dr_vr: versioner.Versioner) -> None:
    dana = dr_vr.acting_as("dana", role="developer")
    dr = dana.create_request("Acting", versions=[("api", "1.0.0")],
                             environments=["production"], slots=["qa"])
    assert dr.created_by == "dana"
    dr = dana.submit_request(dr.id)
    assert dr.history[-1].by == "dana"
    quinn = dr_vr.acting_as("quinn", role="qa")
    dr = quinn.approve_request(dr.id, "qa")
    assert (dr.slots[0].decided_by, dr.slots[0].decided_role) == ("quinn", "qa")
    # Naming someone else than the tracker's actor is refused.
    with pytest.raises(versioner.InvalidInputError) as bad:
        dana.cancel_request(dr.id, actor="mallory")
    assert bad.value.field == "actor" and "mallory" in bad.value.message
    assert dr_vr.request(dr.id).status == "approved"
