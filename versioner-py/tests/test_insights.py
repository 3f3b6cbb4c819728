"""The four keys (DORA metrics) through the binding: the core's answer as a dict."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import versioner

SINCE = datetime(2026, 11, 2, tzinfo=timezone.utc)
UNTIL = "2026-11-09T00:00:00Z"


def _deploy(vr: versioner.Versioner, version: str, status: str, at: str) -> None:
    vr.track_deployment(
        product_name="api",
        version=version,
        environment_name="production",
        status=status,
        completed_at=at,
    )


def test_dora_figures_bands_and_definitions(vr: versioner.Versioner) -> None:
    _deploy(vr, "1", "completed", "2026-11-02T10:00:00Z")
    _deploy(vr, "2", "failed", "2026-11-03T10:00:00Z")
    _deploy(vr, "3", "completed", "2026-11-03T11:00:00Z")
    r = vr.dora(SINCE, UNTIL, product="api")
    # 2 successes in 7 days; 1 failed of 3 finished; restored 1 hour later.
    assert r["deployment_frequency"]["count"] == 2
    assert r["deployment_frequency"]["per_day"] == 2 / 7
    assert r["change_failure_rate"] == 1 / 3
    assert r["time_to_restore"]["median_seconds"] == 3600.0
    assert r["time_to_restore"]["p90_seconds"] == 3600.0
    assert r["bands"]["time_to_restore"] == "elite"
    assert r["bands"]["change_failure_rate"] == "low"
    assert r["environments"] == ["production"]
    assert r["definitions"]["rollbacks"] == "not_a_failure"
    weekly = vr.dora(SINCE, UNTIL, by="week", frequency="deployment_days_per_week")
    assert len(weekly["series"]) == 1
    assert weekly["definitions"]["frequency"] == "deployment_days_per_week"


def test_dora_errors(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.dora(UNTIL, SINCE)
    assert e.value.code == "INVALID_INPUT"
    assert "must be after" in str(e.value)
    with pytest.raises(versioner.InvalidInputError):
        vr.dora(SINCE, UNTIL, rollbacks="sometimes")  # type: ignore[arg-type]
    with pytest.raises(versioner.NotFoundError):
        vr.dora(SINCE, UNTIL, environments=["mars"])


def test_skew_and_stale(vr: versioner.Versioner) -> None:
    for version, env, at in [
        ("1.0", "staging", "2026-11-01T10:00:00Z"),
        ("1.0", "production", "2026-11-01T11:00:00Z"),
        ("1.1", "staging", "2026-11-03T10:00:00Z"),
        ("1.2", "staging", "2026-11-05T10:00:00Z"),
    ]:
        vr.track_deployment(
            product_name="api",
            version=version,
            environment_name=env,
            status="completed",
            completed_at=at,
        )
    (s,) = vr.skew("staging", "production")
    assert s["product_name"] == "api"
    assert s["versions_behind"] == 2
    assert s["versions"] == ["1.1", "1.2"]
    assert s["behind_version"] == "1.0"
    assert s["behind_since"].startswith("2026-11-03T10:00:00")
    assert [x["versions"] for x in vr.skew("staging", "production", product="API")] == [
        ["1.1", "1.2"]
    ]
    (stale,) = vr.stale("staging", "1d")
    assert stale["version"] == "1.2"
    assert stale["not_promoted_to"] == ["production"]


def test_skew_and_stale_name_their_mistakes(vr: versioner.Versioner) -> None:
    vr.track_deployment(
        product_name="api", version="1", environment_name="staging", status="completed"
    )
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.skew("staging", "staging")
    assert "same environment" in str(e.value)
    with pytest.raises(versioner.NotFoundError):
        vr.skew("staging", "nowhere")
    with pytest.raises(versioner.InvalidInputError) as e:
        vr.stale("staging", "soon")
    assert e.value.field == "older_than"
    with pytest.raises(versioner.NotFoundError):
        vr.stale("staging", "1d", promoted_to=["nowhere"])
