"""Queries: versions, deployments, history, the state matrix, drift, catalog."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

import versioner
from conftest import deploy, utcnow


@pytest.fixture
def shipped(vr: versioner.Versioner) -> versioner.Versioner:
    """api 1.0 → dev, staging, production; api 1.1 → dev; web 3 → dev (in progress)."""
    vr.track_build(product_name="api", version="1.0", status="success", scm_sha="aaaa1111bbbb")
    vr.track_build(product_name="api", version="1.1", status="success", scm_sha="cccc2222")
    for env in ("dev", "staging", "production"):
        deploy(vr, "1.0", env, deployed_by="dana")
    deploy(vr, "1.1", "dev", deployed_by="sam")
    deploy(vr, "3", "dev", "started", product="web")
    return vr


def test_versions(shipped: versioner.Versioner) -> None:
    vs = shipped.versions("api")
    assert [v.version for v in vs] == ["1.1", "1.0"]
    assert all(isinstance(v, versioner.Version) for v in vs)
    assert [v.version for v in shipped.versions("api", limit=1)] == ["1.1"]
    assert [v.version for v in shipped.versions("api", limit=1, offset=1)] == ["1.0"]
    assert shipped.versions("api", offset=5) == []
    with pytest.raises(versioner.NotFoundError):
        shipped.versions("nope")
    with pytest.raises(versioner.InvalidInputError) as info:
        shipped.versions("api", limit=0)
    assert info.value.field == "limit"
    with pytest.raises(versioner.InvalidInputError) as neg:
        shipped.versions("api", offset=-1)
    assert neg.value.field == "offset"


def test_version_lookups(shipped: versioner.Versioner) -> None:
    v = shipped.version("api", "1.0")
    assert (v.product_name, v.scm_sha) == ("api", "aaaa1111bbbb")
    assert shipped.version_by_id(v.id) == v
    assert shipped.versions_by_sha("AAAA1111") == [v]
    assert shipped.versions_by_sha("ffff") == []
    with pytest.raises(versioner.InvalidInputError) as bad:
        shipped.versions_by_sha("HEAD")
    assert bad.value.field == "scm_sha"
    with pytest.raises(versioner.NotFoundError) as nf:
        shipped.version("api", "9.9")
    assert nf.value.kind == "version"
    with pytest.raises(versioner.NotFoundError):
        shipped.version_by_id("no-such-id")


def test_deployment_by_id(shipped: versioner.Versioner) -> None:
    d = shipped.history(product_name="api", environment_name="production")[0]
    assert shipped.deployment(d.id) == d
    with pytest.raises(versioner.NotFoundError) as nf:
        shipped.deployment("no-such-id")
    assert (nf.value.kind, nf.value.name) == ("deployment", "no-such-id")


def test_history_filters(shipped: versioner.Versioner) -> None:
    everything = shipped.history()
    assert len(everything) == 5
    assert everything[0].product_name == "web"  # newest first
    assert {d.environment_name for d in shipped.history(environment_name="dev")} == {"dev"}
    assert len(shipped.history(product_name="api")) == 4
    assert [d.environment_name for d in shipped.history(product_name="api", version="1.1")] == ["dev"]
    assert [d.product_name for d in shipped.history(status="in_progress")] == ["web"]
    assert len(shipped.history(limit=2)) == 2
    assert shipped.history(product_name="nope") == []
    assert shipped.history(since=utcnow() + timedelta(hours=1)) == []
    assert len(shipped.history(until=utcnow() + timedelta(hours=1))) == 5
    assert len(shipped.history(since="2000-01-01T00:00:00Z")) == 5
    with pytest.raises(versioner.InvalidInputError) as info:
        shipped.history(version="1.0")
    assert info.value.field == "version"
    with pytest.raises(versioner.InvalidInputError):
        shipped.history(status="sideways")
    with pytest.raises(versioner.InvalidInputError):
        shipped.history(limit=5000)


def test_state_matrix(shipped: versioner.Versioner) -> None:
    m = shipped.state()
    assert isinstance(m, versioner.StateMatrix)
    assert m.at is None
    assert m.products == ["api", "web"]
    assert m.environments == ["dev", "staging", "production"]
    assert m.version("api", "production") == "1.0"
    assert m.version("api", "dev") == "1.1"
    assert m.version("web", "dev") is None
    cell = m.cell("web", "dev")
    assert cell is not None and cell.current is None
    assert [p.version for p in cell.in_progress] == ["3"]
    prod = m.cell("api", "production")
    assert prod is not None and prod.current is not None
    assert prod.current.deployed_by == "dana" and prod.environment_type == "production"
    assert m.cell("web", "production") is None
    table = str(m)
    assert table.splitlines()[0].split() == ["PRODUCT", "dev", "staging", "production"]
    assert "(*3)" in table


def test_state_as_of_an_instant(vr: versioner.Versioner) -> None:
    deploy(vr, "1.0", "prod")
    time.sleep(0.01)
    between = utcnow()
    time.sleep(0.01)
    deploy(vr, "2.0", "prod")
    assert vr.state().version("api", "prod") == "2.0"
    past = vr.state(at=between)
    assert past.at is not None and abs(past.at - between) < timedelta(milliseconds=1)
    assert past.version("api", "prod") == "1.0"
    assert vr.state(at="2000-01-01T00:00:00Z").cells == []


def test_drift(shipped: versioner.Versioner) -> None:
    drift = shipped.drift()
    assert len(drift) == 1 and isinstance(drift[0], versioner.Drift)
    assert drift[0].product_name == "api"
    assert drift[0].versions == {"dev": "1.1", "staging": "1.0", "production": "1.0"}
    assert drift[0].distinct_versions == 2
    assert shipped.drift(environments=["staging", "production"]) == []
    assert shipped.drift(at="2000-01-01T00:00:00Z") == []


def test_products_and_environments(shipped: versioner.Versioner) -> None:
    assert [p.name for p in shipped.products()] == ["api", "web"]
    envs = shipped.environments()
    assert [(e.name, e.type) for e in envs] == [
        ("dev", "dev"),
        ("staging", "staging"),
        ("production", "production"),
    ]
    assert not any(e.type_overridden for e in envs)


def test_set_environment_type(vr: versioner.Versioner) -> None:
    e = vr.set_environment_type("eu-west", "production")
    assert (e.name, e.type, e.type_overridden) == ("eu-west", "production", True)
    back = vr.set_environment_type("eu-west", None)
    assert (back.type, back.type_overridden) == ("other", False)
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.set_environment_type("eu-west", "prodish")  # type: ignore[arg-type]
    assert "unknown environment type" in str(info.value)
    with pytest.raises(versioner.InvalidInputError):
        vr.set_environment_type(" ", "dev")


def test_close_and_context_manager(db_path: Path) -> None:
    with versioner.Versioner(db_path) as vr:
        assert not vr.closed
        vr.track_deployment(product_name="api", version="1", environment_name="dev",
                            status="success")
    assert vr.closed
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.products()
    assert info.value.field == "self" and "closed" in str(info.value)
    vr.close()  # twice is harmless
    # The file was released: another Versioner opens it and sees the deployment.
    again = versioner.Versioner(db_path)
    assert again.state().version("api", "dev") == "1"
    again.close()


def test_closing_while_other_threads_call(vr: versioner.Versioner) -> None:
    def ship(i: int) -> str:
        try:
            vr.track_deployment(product_name="api", version=str(i), environment_name="dev",
                                status="success")
            return "ok"
        except versioner.InvalidInputError as e:
            assert e.field == "self"
            return "closed"

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(ship, i) for i in range(40)]
        vr.close()
        outcomes = {f.result() for f in futures}
    assert outcomes <= {"ok", "closed"}
