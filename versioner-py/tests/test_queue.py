"""Waiting instead of failing: ``track_deployment(..., wait=...)`` waits in the environment's
queue for a block time alone clears, ``queue()`` shows the waiters, and a wait past its limit
raises the block."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict

import pytest

import versioner

ONE_AT_A_TIME = {"rules": [{"name": "One at a time", "type": "concurrency", "max": 1}]}


def test_a_waiter_is_queued_and_goes_when_the_block_clears(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    with versioner.Versioner(db) as vr:
        vr.apply_policy(ONE_AT_A_TIME)
        vr.track_deployment(product_name="api", version="1.0", environment_name="production",
                            status="started")
        result: Dict[str, versioner.Deployment] = {}

        def wait() -> None:
            result["d"] = vr.track_deployment(
                product_name="api", version="1.1", environment_name="production",
                status="started", deployed_by="dana", wait=timedelta(seconds=30))

        waiter = threading.Thread(target=wait)
        waiter.start()
        deadline = time.monotonic() + 20
        while not vr.queue("production"):
            assert time.monotonic() < deadline, "never queued"
            time.sleep(0.05)
        [entry] = vr.queue()
        assert isinstance(entry, versioner.QueueEntry)
        assert (entry.position, entry.product_name, entry.version, entry.environment_name,
                entry.waiter) == (1, "api", "1.1", "production", "dana")
        assert isinstance(entry.since, datetime) and isinstance(entry.heartbeat_at, datetime)
        vr.track_deployment(product_name="api", version="1.0", environment_name="production",
                            status="completed")
        waiter.join(20)
        assert result["d"].version == "1.1" and result["d"].status == "started"
        assert vr.queue() == []


def test_a_wait_past_its_limit_raises_the_block(tmp_path: Path) -> None:
    with versioner.Versioner(tmp_path / "v.db") as vr:
        vr.apply_policy(ONE_AT_A_TIME)
        vr.track_deployment(product_name="api", version="1.0", environment_name="production",
                            status="started")
        begun = time.monotonic()
        with pytest.raises(versioner.DeploymentBlockedError) as e:
            vr.track_deployment(product_name="api", version="1.1",
                                environment_name="production", status="started", wait=1)
        assert time.monotonic() - begun >= 1
        assert e.value.code == "CONCURRENT_DEPLOYMENT"
        assert vr.queue() == []
        with pytest.raises(versioner.InvalidInputError) as bad:
            vr.track_deployment(product_name="api", version="1.1",
                                environment_name="production", status="started", wait=7200)
        assert "wait" in str(bad.value)
        with pytest.raises(TypeError):
            vr.track_deployment(product_name="api", version="1.1",
                                environment_name="production", status="started", wait="soon")  # type: ignore[arg-type]
        assert [d.version for d in vr.history()] == ["1.0"]
