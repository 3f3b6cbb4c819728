"""`versioner.Versioner.connect(url)`: the in-process core on PostgreSQL.

Runs when VERSIONER_TEST_DATABASE_URL names a database (scripts/test-postgres.sh starts a
throwaway cluster and sets it, with VERSIONER_REQUIRE_POSTGRES=1 so that the tests cannot be
skipped there). Each test keeps its tables in a schema of its own.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import versioner

URL = os.environ.get("VERSIONER_TEST_DATABASE_URL", "")

if not URL and os.environ.get("VERSIONER_REQUIRE_POSTGRES"):
    raise RuntimeError("VERSIONER_REQUIRE_POSTGRES is set but VERSIONER_TEST_DATABASE_URL is not")

needs_postgres = pytest.mark.skipif(not URL, reason="VERSIONER_TEST_DATABASE_URL is not set")


def schema() -> str:
    return f"py_{os.getpid()}_{time.monotonic_ns()}"


def test_connect_refuses_bad_input_before_connecting() -> None:
    with pytest.raises(versioner.InvalidInputError) as url:
        versioner.Versioner.connect("host='unterminated")
    assert url.value.field == "database_url"
    with pytest.raises(versioner.InvalidInputError) as bad_schema:
        versioner.Versioner.connect("host=/nowhere dbname=x", schema="no-dashes")
    assert bad_schema.value.field == "schema"
    with pytest.raises(versioner.InvalidInputError) as pool:
        versioner.Versioner.connect("host=/nowhere dbname=x", max_connections=0)
    assert pool.value.field == "max_connections"


@needs_postgres
def test_the_journey_on_postgresql() -> None:
    name = schema()
    with versioner.Versioner.connect(URL, schema=name, max_connections=4) as vr:
        assert vr.path is None and "postgres" in repr(vr) and URL not in repr(vr)
        vr.apply_policy('[[rules]]\nname = "Staging first"\ntype = "flow"\n'
                        'environments = ["production"]\nprerequisites = ["staging"]\n')
        with pytest.raises(versioner.DeploymentBlockedError) as blocked:
            vr.track_deployment(product_name="api", version="1", environment_name="production",
                                status="started")
        assert blocked.value.code == "FLOW_VIOLATION"
        vr.track_deployment(product_name="api", version="1", environment_name="staging",
                            status="success")
        with vr.deploying(product_name="api", version="1", environment_name="production"):
            pass
        assert vr.state().version("api", "production") == "1"
        assert vr.set_environment_type("lab", "test").type_overridden
    # A second instance (another process, in real life) sees the same records.
    other = versioner.Versioner.connect(URL, schema=name)
    assert [(d.environment_name, d.status) for d in other.history(product_name="api")] == [
        ("production", "completed"), ("staging", "completed")]
    other.close()


@needs_postgres
def test_one_at_a_time_holds_across_instances_on_postgresql() -> None:
    name = schema()
    a = versioner.Versioner.connect(URL, schema=name)
    b = versioner.Versioner.connect(URL, schema=name)
    a.add_rule({"name": "Serial", "type": "concurrency", "max": 1})

    def start(i: int) -> bool:
        vr = a if i % 2 else b
        try:
            vr.track_deployment(product_name="api", version=str(i), environment_name="prod",
                                status="started")
            return True
        except versioner.DeploymentBlockedError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = sum(pool.map(start, range(16)))
    assert admitted == 1
    a.close()
    b.close()
