"""The catalog (issue 18, item 10): products and environments found by name or id, described,
and renamed with their id and history kept."""

from __future__ import annotations

import pytest

import versioner
from conftest import deploy


def test_rename_and_describe_a_product(vr: versioner.Versioner) -> None:
    deploy(vr, "1.0", "staging")
    before = vr.product("api")
    assert (before.description, before.extra_metadata) == (None, {})
    p = vr.update_product("api", name="api-service", description="The public API",
                          extra_metadata={"team": "core"})
    assert isinstance(p, versioner.Product)
    assert (p.id, p.name, p.description) == (before.id, "api-service", "The public API")
    assert p.extra_metadata == {"team": "core"}
    assert vr.product(before.id).name == "api-service"
    assert [d.product_name for d in vr.history(product_name="api-service")] == ["api-service"]
    with pytest.raises(versioner.NotFoundError):
        vr.product("api")
    cleared = vr.update_product("api-service", description="", extra_metadata={})
    assert (cleared.description, cleared.extra_metadata) == (None, {})


def test_rename_and_describe_an_environment(vr: versioner.Versioner) -> None:
    deploy(vr, "1.0", "qa-eu")
    e = vr.update_environment("qa-eu", name="qa-frankfurt", extra_metadata={"region": "eu"})
    assert (e.name, e.type, e.extra_metadata) == ("qa-frankfurt", "test", {"region": "eu"})
    assert vr.environment("QA-Frankfurt").id == e.id
    assert vr.state().version("api", "qa-frankfurt") == "1.0"


def test_bad_changes_raise_and_change_nothing(vr: versioner.Versioner) -> None:
    deploy(vr, "1.0", "staging")
    deploy(vr, "1.0", "staging", product="web")
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.update_product("api", name="WEB")
    assert info.value.field == "name" and "already has this name" in str(info.value)
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.update_product("api")
    assert "changes nothing" in str(info.value)
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.update_product("api", extra_metadata=[1])  # type: ignore[arg-type]
    assert info.value.field == "extra_metadata"
    vr.add_rule({"name": "Flow", "type": "flow", "environments": ["production"],
                 "prerequisites": ["staging"]})
    with pytest.raises(versioner.InvalidInputError, match="named by rule"):
        vr.update_environment("staging", name="stage")
    with pytest.raises(versioner.NotFoundError):
        vr.update_environment("nope", description="x")
    viewer = vr.acting_as("vic", role="viewer")
    with pytest.raises(versioner.AuthError):
        viewer.update_product("api", description="x")
    assert vr.product("api").description is None
