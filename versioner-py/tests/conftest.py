"""Shared fixtures: a fresh in-memory Versioner, a policy-file helper, and instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest

import versioner

#: A fixed Friday (2026-11-20, 15:00 UTC) for what-if checks.
FRIDAY_AFTERNOON = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def vr() -> Iterator[versioner.Versioner]:
    """A private in-memory Versioner."""
    yield versioner.Versioner()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path in a temporary directory."""
    return tmp_path / "versioner.db"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def window_around_now(name: str = "freeze", hours: int = 1) -> Dict[str, Any]:
    """A deny schedule rule whose one-off window covers now (UTC, minute precision)."""
    now = utcnow()
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "name": name,
        "type": "schedule",
        "timezone": "UTC",
        "reason": "maintenance",
        "windows": [
            {
                "recurrence": "once",
                "start": (now - timedelta(hours=hours)).strftime(fmt),
                "end": (now + timedelta(hours=hours)).strftime(fmt),
            }
        ],
    }


def deploy(vr: versioner.Versioner, version: str, env: str, status: str = "completed",
           product: str = "api", **fields: Any) -> versioner.Deployment:
    """Records one deployment event (the test suites' shorthand)."""
    return vr.track_deployment(
        product_name=product, version=version, environment_name=env, status=status, **fields
    )


@pytest.fixture
def track() -> Callable[..., versioner.Deployment]:
    return deploy
