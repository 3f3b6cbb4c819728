"""History import and export through the binding: the core's JSON Lines, its report as a dict,
a failing line raised as InvalidInputError naming it."""

from __future__ import annotations

import pytest

import versioner

HISTORY = "\n".join(
    [
        '{"kind":"build","product_name":"api","version":"1.0.0","status":"completed",'
        '"completed_at":"2026-11-01T09:00:00Z"}',
        '{"kind":"deployment","product_name":"api","version":"1.0.0",'
        '"environment_name":"production","status":"completed",'
        '"started_at":"2026-11-01T10:00:00Z","completed_at":"2026-11-01T10:05:00Z"}',
    ]
)


def test_import_export_round_trip_and_idempotency(vr: versioner.Versioner) -> None:
    dry = vr.import_events(HISTORY, dry_run=True)
    assert dry["dry_run"] is True and dry["deployments"] == 1
    assert vr.products() == []

    report = vr.import_events(HISTORY)
    assert (report["builds"], report["deployments"], report["skipped"]) == (1, 1, 0)
    again = vr.import_events(HISTORY)
    assert (again["builds"], again["deployments"], again["skipped"]) == (0, 0, 2)

    text = vr.export_events()
    assert len(text.splitlines()) == 2
    copy = versioner.Versioner()
    copy.import_events(text)
    assert copy.export_events() == text
    cell = copy.state().cell("api", "production")
    assert cell is not None and cell.current is not None
    assert cell.current.version == "1.0.0"


def test_a_failing_line_is_named(vr: versioner.Versioner) -> None:
    bad = HISTORY + '\n{"kind":"deployment","product_name":"api"}'
    with pytest.raises(versioner.InvalidInputError) as err:
        vr.import_events(bad)
    assert err.value.field == "line 3"
    assert err.value.code == "INVALID_INPUT"
    assert vr.products() == []
