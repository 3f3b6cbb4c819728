"""Every exception type and attribute, and the code → class mapping."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import versioner
from conftest import deploy, utcnow, window_around_now


def test_hierarchy() -> None:
    for cls in (
        versioner.InvalidInputError,
        versioner.VersionConflictError,
        versioner.DeploymentBlockedError,
        versioner.NotFoundError,
        versioner.AuthError,
    ):
        assert issubclass(cls, versioner.VersionerError)
        assert cls.__module__ == "versioner"
    assert issubclass(versioner.VersionerError, Exception)
    assert issubclass(versioner.InvalidInputError, ValueError)
    assert not issubclass(versioner.DeploymentBlockedError, ValueError)


def test_invalid_input(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        deploy(vr, "1.0", " ")
    e = info.value
    assert (e.code, e.http_status, e.exit_code) == ("INVALID_INPUT", 422, 4)
    assert e.field == "environment_name" and e.problems == []
    assert e.message == str(e) == "invalid `environment_name`: is required and must not be blank"
    assert repr(e).startswith("InvalidInputError('invalid `environment_name`")
    # It is a ValueError too.
    with pytest.raises(ValueError):
        deploy(vr, "1.0", "dev", "sideways")


def test_not_found(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.NotFoundError) as info:
        vr.rule("missing")
    e = info.value
    assert (e.code, e.http_status, e.exit_code, e.kind, e.name) == (
        "NOT_FOUND", 404, 4, "rule", "missing")
    assert str(e) == "rule `missing` not found"


def test_storage_error_is_a_versioner_error(tmp_path: Path) -> None:
    with pytest.raises(versioner.VersionerError) as info:
        versioner.Versioner(tmp_path)  # a directory is no database
    e = info.value
    assert type(e) is versioner.VersionerError
    assert (e.code, e.http_status, e.exit_code) == ("STORAGE", 503, 1)


def test_flow_violation(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "Staging first", "type": "flow", "environments": ["prod"],
                 "prerequisites": ["staging"]})
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "1.0", "prod", "started")
    e = info.value
    assert (e.code, e.http_status, e.exit_code) == ("FLOW_VIOLATION", 428, 5)
    assert e.rule_name == "Staging first" and e.retry_after is None
    assert [o.rule_name for o in e.violations] == ["Staging first"]
    assert e.violations[0].code == "FLOW_VIOLATION" and e.violations[0].blocks
    assert e.verdict is not None and e.verdict.decision == "blocked"
    assert str(e) == e.verdict.summary
    assert vr.history() == []  # nothing recorded


def test_soak_time_gives_retry_after(vr: versioner.Versioner) -> None:
    vr.add_rule({"name": "soak", "type": "flow", "environments": ["prod"],
                 "prerequisites": ["staging"], "soak": "1h"})
    done = deploy(vr, "1.0", "staging")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "1.0", "prod", "started")
    e = info.value
    assert e.code == "INSUFFICIENT_SOAK_TIME" and e.http_status == 428
    assert done.completed_at is not None and e.retry_after is not None
    assert abs(e.retry_after - (done.completed_at + timedelta(hours=1))) < timedelta(seconds=1)
    assert e.retry_after.tzinfo is not None


def test_no_deploy_window(vr: versioner.Versioner) -> None:
    rule = window_around_now()
    vr.add_rule(rule)
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "1.0", "prod", "started")
    e = info.value
    assert (e.code, e.http_status, e.rule_name) == ("NO_DEPLOY_WINDOW", 423, "freeze")
    end = datetime.strptime(rule["windows"][0]["end"], "%Y-%m-%dT%H:%M").replace(
        tzinfo=timezone.utc)
    assert e.retry_after == end
    assert e.violations[0].details["reason"] == "maintenance"


def test_concurrent_deployment_is_most_severe(vr: versioner.Versioner) -> None:
    vr.apply_policy(
        [
            {"name": "flow", "type": "flow", "prerequisites": ["staging"],
             "environments": ["prod"]},
            {"name": "one", "type": "concurrency", "max": 1},
        ]
    )
    first = deploy(vr, "1.0", "prod", "started", skip_preflight_checks=True,
                   skip_preflight_reason="seed")
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "2.0", "prod", "started")
    e = info.value
    assert (e.code, e.http_status, e.rule_name) == ("CONCURRENT_DEPLOYMENT", 409, "one")
    assert sorted(o.rule_name for o in e.violations) == ["flow", "one"]
    one = next(o for o in e.violations if o.rule_name == "one")
    assert one.details["conflicting_deployment_id"] == first.id


def test_blocked_error_pickles(vr: versioner.Versioner) -> None:
    vr.add_rule(window_around_now())
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        deploy(vr, "1.0", "prod", "started")
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is versioner.DeploymentBlockedError
    assert (back.code, back.http_status, back.rule_name, back.retry_after) == (
        info.value.code, info.value.http_status, info.value.rule_name, info.value.retry_after)
    assert back.verdict == info.value.verdict


def test_exceptions_can_be_raised_by_user_code() -> None:
    e = versioner.DeploymentBlockedError("blocked")
    assert e.verdict is None and e.violations == [] and e.rule_name is None
    assert e.retry_after is None and e.exit_code == 5
    assert versioner.AuthError("no key").code == "UNAUTHORIZED"
    assert versioner.AuthError("nope", code="FORBIDDEN", http_status=403).http_status == 403
    assert versioner.VersionerError("x").code == "INTERNAL"
    assert versioner.InvalidInputError("bad", field="f").field == "f"
    assert versioner.NotFoundError("gone", kind="rule", name="r").name == "r"
    assert versioner.VersionConflictError("c", recorded_sha="a").recorded_sha == "a"


def test_every_blocked_code_maps_to_the_blocked_class(vr: versioner.Versioner) -> None:
    """Each of the eight blocking codes raises DeploymentBlockedError (the two Deployment
    Request codes through its subclasses) with its HTTP status."""
    seen = {}
    now = utcnow()
    pending = versioner.DeploymentRequestPendingError
    required = versioner.DeploymentRequestRequiredError
    blocked = versioner.DeploymentBlockedError
    cases: List[Tuple[Optional[Dict[str, Any]], str, int, type]] = [
        ({"name": "c", "type": "concurrency"}, "CONCURRENT_DEPLOYMENT", 409, blocked),
        (window_around_now("w"), "NO_DEPLOY_WINDOW", 423, blocked),
        ({"name": "f", "type": "flow", "prerequisites": ["nowhere"]}, "FLOW_VIOLATION", 428,
         blocked),
        ({"name": "s", "type": "flow", "prerequisites": ["stg"], "soak": "1d"},
         "INSUFFICIENT_SOAK_TIME", 428, blocked),
        ({"name": "r", "type": "release_approval"}, "APPROVAL_REQUIRED", 428, blocked),
        ({"name": "q", "type": "version_approval", "approval_types": ["qa"]},
         "QUALITY_APPROVAL_REQUIRED", 428, blocked),
        # No rule: a submitted Deployment Request covering the deployment blocks it.
        (None, "DEPLOYMENT_REQUEST_PENDING", 428, pending),
        ({"name": "d", "type": "deployment_request_required"}, "DEPLOYMENT_REQUEST_REQUIRED",
         428, required),
    ]
    for i, (rule, code, status, cls) in enumerate(cases):
        # Scoped to prod: the seeding success in stg is itself preflighted (it closes no
        # preflighted start).
        vr.apply_policy([{**rule, "environments": ["prod"]}] if rule is not None else [])
        product = f"p{i}"
        deploy(vr, "1", "stg", product=product)
        if code == "CONCURRENT_DEPLOYMENT":
            deploy(vr, "0", "prod", "started", product=product)
        if code == "DEPLOYMENT_REQUEST_PENDING":
            dr = vr.create_request("covering", versions=[(product, "1")], environments=["prod"],
                                   slots=["qa"], created_by="dana")
            vr.submit_request(dr.id, actor="dana")
        with pytest.raises(versioner.DeploymentBlockedError) as info:
            deploy(vr, "1", "prod", "started", product=product)
        assert type(info.value) is cls, code
        seen[code] = (info.value.code, info.value.http_status, info.value.exit_code)
        assert seen[code] == (code, status, 5)
    assert len(seen) == 8
    assert utcnow() - now < timedelta(minutes=5)


def test_deployment_request_errors_are_blocked_errors() -> None:
    for cls, code in ((versioner.DeploymentRequestPendingError, "DEPLOYMENT_REQUEST_PENDING"),
                      (versioner.DeploymentRequestRequiredError, "DEPLOYMENT_REQUEST_REQUIRED")):
        assert issubclass(cls, versioner.DeploymentBlockedError)
        assert cls.__module__ == "versioner"
        e = cls("blocked")
        assert (e.code, e.http_status, e.exit_code, e.verdict) == (code, 428, 5, None)
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls and back.code == code
