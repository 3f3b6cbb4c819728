"""Records: typed attributes, readable repr, to_dict, immutability, the module surface."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

import versioner
from conftest import deploy


def test_repr_is_short_and_readable(vr: versioner.Versioner) -> None:
    d = deploy(vr, "1.0", "dev")
    r = repr(d)
    assert r.startswith("Deployment(id='") and "product_name='api'" in r
    assert "environment_name='dev'" in r and "status='completed'" in r
    assert "extra_metadata" not in r and len(r) < 200
    p = vr.products()[0]
    assert repr(p) == f"Product(id={p.id!r}, name='api')"
    e = vr.environments()[0]
    assert repr(e) == "Environment(name='dev', type='dev', type_overridden=False)"


def test_to_dict_is_plain_and_nested(vr: versioner.Versioner) -> None:
    d = deploy(vr, "1.0", "dev", "started", extra_metadata={"a": 1})
    out = d.to_dict()
    assert out["product_name"] == "api" and out["extra_metadata"] == {"a": 1}
    assert isinstance(out["deployed_at"], datetime)
    assert isinstance(out["preflight"], dict)
    assert isinstance(out["preflight"]["verdict"], dict)
    assert out["preflight"]["verdict"]["decision"] == "allowed"
    assert set(out) == {f.name for f in dataclasses.fields(d)}
    m = vr.state().to_dict()
    assert "table" not in m and isinstance(m["cells"][0], dict)
    r = vr.add_rule({"name": "c", "type": "concurrency"})
    rd = r.to_dict()
    assert "_definition" not in rd and rd["parameters"]["stale_after"] == timedelta(hours=2)


def test_records_are_frozen_and_comparable(vr: versioner.Versioner) -> None:
    d = deploy(vr, "1.0", "dev")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.status = "failed"  # type: ignore[misc]
    assert vr.deployment(d.id) == d
    assert hash(vr.products()[0].id)


def test_module_surface() -> None:
    assert versioner.__version__ == versioner.VERSION if hasattr(versioner, "VERSION") else True
    assert isinstance(versioner.__version__, str) and versioner.__version__
    for name in versioner.__all__:
        assert hasattr(versioner, name), name
    assert versioner.Versioner.__module__ == "versioner"
    assert versioner.Versioner.__doc__
    for name in ("track_build", "track_deployment", "check", "deployment", "add_rule", "rules",
                 "rule", "update_rule", "delete_rule", "set_rule_status", "rule_history",
                 "apply_policy", "approve", "revoke_approval", "approvals", "versions",
                 "version", "version_by_id", "versions_by_sha", "history", "state", "drift",
                 "products", "environments", "set_environment_type"):
        assert getattr(versioner.Versioner, name).__doc__, name
    assert versioner.detect_ci.__doc__
