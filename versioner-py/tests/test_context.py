"""`with vr.deploying(...)`: started on entry, completed / failed / aborted on exit."""

from __future__ import annotations

from typing import Any

import pytest

import versioner
from conftest import window_around_now


def test_success_records_started_then_completed(vr: versioner.Versioner) -> None:
    with vr.deploying(product_name="api", version="1.0", environment_name="staging",
                       deployed_by="dana", extra_metadata={"ticket": "CHG-1"}) as run:
        assert isinstance(run, versioner.DeploymentRun)
        assert run.started is not None and run.started.status == "started"
        assert run.finished is None
        assert vr.deployment(run.id).status == "started"
        run.extra_metadata["image"] = "api:1.0"
    assert run.finished is not None and run.finished.status == "completed"
    assert run.deployment is run.finished and run.id == run.started.id
    d = vr.deployment(run.id)
    assert d.status == "completed" and d.deployed_by == "dana"
    assert d.extra_metadata == {"ticket": "CHG-1", "image": "api:1.0"}
    assert vr.state().version("api", "staging") == "1.0"
    assert "finished" in repr(run)


def test_failure_records_failed_and_reraises(vr: versioner.Versioner) -> None:
    with pytest.raises(RuntimeError, match="rollout failed"):
        with vr.deploying(product_name="api", version="1.0", environment_name="prod") as run:
            raise RuntimeError("rollout failed")
    assert run.finished is not None and run.finished.status == "failed"
    assert vr.deployment(run.id).status == "failed"
    assert vr.state().version("api", "prod") is None


def test_keyboard_interrupt_records_aborted(vr: versioner.Versioner) -> None:
    with pytest.raises(KeyboardInterrupt):
        with vr.deploying(product_name="api", version="1.0", environment_name="prod") as run:
            raise KeyboardInterrupt
    assert vr.deployment(run.id).status == "aborted"


def test_blocked_raises_before_the_body(vr: versioner.Versioner) -> None:
    vr.add_rule(window_around_now())
    body_ran = False
    with pytest.raises(versioner.DeploymentBlockedError) as info:
        with vr.deploying(product_name="api", version="1.0", environment_name="prod"):
            body_ran = True
    assert not body_ran
    assert info.value.code == "NO_DEPLOY_WINDOW" and info.value.retry_after is not None
    assert vr.history() == []


def test_bypass_through_the_context_manager(vr: versioner.Versioner) -> None:
    vr.add_rule(window_around_now())
    with vr.deploying(product_name="api", version="1.0", environment_name="prod",
                       skip_preflight_checks=True, skip_preflight_reason="INC-7") as run:
        pass
    assert run.started is not None and run.started.preflight is not None
    assert run.started.preflight.status == "skipped"
    assert run.deployment.status == "completed"


def test_report_only_warnings_are_visible(vr: versioner.Versioner) -> None:
    vr.add_rule({**window_around_now(), "status": "report_only"})
    with vr.deploying(product_name="api", version="1.0", environment_name="prod") as run:
        assert [w.code for w in run.warnings] == ["NO_DEPLOY_WINDOW"]


def test_recording_failure_does_not_hide_the_body_error(vr: versioner.Versioner) -> None:
    run = vr.deploying(product_name="api", version="1.0", environment_name="prod")
    with pytest.warns(RuntimeWarning, match="could not record the deployment as failed"):
        with pytest.raises(ValueError, match="body"):
            with run:
                run.extra_metadata["bad"] = object()  # cannot be recorded as JSON
                raise ValueError("body")
    assert vr.deployment(run.id).status == "started"
    # Without a body error the recording error is raised.
    with pytest.raises(versioner.InvalidInputError):
        with vr.deploying(product_name="api", version="3", environment_name="prod") as r3:
            r3.extra_metadata["bad"] = {1: "non-str key"}


def test_misuse_is_a_type_error(vr: versioner.Versioner) -> None:
    with pytest.raises(TypeError, match="missing: environment_name"):
        vr.deploying(product_name="api", version="1.0")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword"):
        vr.deploying(product_name="api", version="1", environment_name="e", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="use deploying"):
        vr.deployment()  # type: ignore[call-overload]
    bad: Any = vr
    with pytest.raises(TypeError):
        bad.deployment("id", product="api", version="1", environment="e")
    run = vr.deploying(product_name="api", version="1", environment_name="e")
    with pytest.raises(RuntimeError, match="has not started"):
        run.deployment
    with run:
        pass
    with pytest.raises(RuntimeError, match="only once"):
        with run:
            pass
