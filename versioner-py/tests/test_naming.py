"""One keyword scheme (issue 18, item 12): a product or an environment named by keyword is
``product_name=`` / ``environment_name=`` everywhere, the context manager is ``deploying``, and
the older spellings still work for one release with a ``DeprecationWarning``."""

from __future__ import annotations

from typing import Any

import pytest

import versioner
from conftest import deploy


def _shipped(vr: versioner.Versioner) -> None:
    vr.track_build(product_name="api", version="1.0", status="success")
    deploy(vr, "1.0", "staging")


def test_the_new_spellings_do_not_warn(vr: versioner.Versioner, recwarn: Any) -> None:
    _shipped(vr)
    assert len(vr.history(product_name="api", environment_name="staging")) == 1
    assert vr.violations(product_name="api", environment_name="staging") == []
    assert vr.versions("api")[0].version == "1.0"
    assert vr.versions(product_name="api")[0].version == "1.0"
    assert vr.version("api", "1.0").version == "1.0"
    assert vr.approvals(product_name="api", version="1.0") == []
    a = vr.approve(product_name="api", version="1.0", approval_type="qa", approver="qa-lead",
                   approver_role="qa", environment_name="staging")
    assert a.environment == "staging"
    with vr.deploying(product_name="api", version="1.0", environment_name="prod") as run:
        assert (run.product_name, run.environment_name) == ("api", "prod")
    assert not [w for w in recwarn.list if issubclass(w.category, DeprecationWarning)]


def test_the_old_spellings_warn_and_still_work(vr: versioner.Versioner) -> None:
    _shipped(vr)
    with pytest.warns(DeprecationWarning, match=r"history\(product_name=…\)"):
        assert len(vr.history(product="api")) == 1
    with pytest.warns(DeprecationWarning, match=r"history\(environment_name=…\)"):
        assert len(vr.history(environment="staging")) == 1
    with pytest.warns(DeprecationWarning, match=r"violations\(product_name=…\)"):
        assert vr.violations(product="api") == []
    with pytest.warns(DeprecationWarning, match=r"versions\(product_name=…\)"):
        assert vr.versions(product="api")[0].version == "1.0"
    with pytest.warns(DeprecationWarning, match=r"version\(product_name=…\)"):
        assert vr.version(product="api", version="1.0").version == "1.0"
    with pytest.warns(DeprecationWarning, match=r"approvals\(product_name=…\)"):
        assert vr.approvals(product="api", version="1.0") == []
    with pytest.warns(DeprecationWarning, match=r"approve\(environment_name=…\)"):
        a = vr.approve(product_name="api", version="1.0", approval_type="qa",
                       approver="qa-lead", approver_role="qa", environment="staging")
    assert a.environment == "staging"
    with pytest.warns(DeprecationWarning, match=r"use deploying\(product_name=…"):
        run = vr.deployment(product="api", version="1.0", environment="prod")
    with run:
        pass
    assert vr.deployment(run.id).status == "completed"
    with pytest.warns(DeprecationWarning, match="DeploymentRun.product_name"):
        assert run.product == "api"
    with pytest.warns(DeprecationWarning, match="DeploymentRun.environment_name"):
        assert run.environment == "prod"


def test_a_warning_points_at_the_caller(vr: versioner.Versioner) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        vr.history(product="api")
    assert caught[0].filename == __file__


def test_both_spellings_at_once_or_none_is_a_type_error(vr: versioner.Versioner) -> None:
    with pytest.raises(TypeError, match="give product_name= only"):
        vr.history(product_name="api", product="api")
    with pytest.raises(TypeError, match="missing required argument: 'product_name'"):
        vr.versions()
    with pytest.raises(TypeError, match="missing required argument: 'version'"):
        vr.version("api")
