"""Rules: add, list, get, update, delete, status changes and their history, policies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import versioner

POLICY_TOML = """
[[rules]]
name = "Staging before production"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
soak = "24h"

[[rules]]
name = "Prod needs 2 approvals"
type = "release_approval"
environments = ["production"]
required = 2
approver_roles = ["sre"]
expires_after = "7d"

[[rules]]
name = "One at a time"
type = "concurrency"
max = 1
per = "environment"
stale_after = "90m"
"""

FLOW = {"name": "flow", "type": "flow", "environments": ["prod"], "prerequisites": ["staging"]}


def test_add_rule_and_read_it_back(vr: versioner.Versioner) -> None:
    r = vr.add_rule({**FLOW, "soak": "1d 12h", "description": "staging first"})
    assert isinstance(r, versioner.Rule)
    assert (r.name, r.type, r.status) == ("flow", "flow", "enabled")
    assert r.description == "staging first"
    assert r.environments == ["prod"] and r.products == [] and r.environment_types == []
    assert r.parameters == {
        "prerequisites": ["staging"],
        "strict_order": False,
        "soak": timedelta(days=1, hours=12),
    }
    assert r.position >= 0 and r.created_at.tzinfo is not None
    assert r.definition()["soak"] == "1d 12h"
    assert vr.rule("flow") == r
    assert vr.rules() == [r]


def test_durations_may_be_timedeltas(vr: versioner.Versioner) -> None:
    r = vr.add_rule({"name": "c", "type": "concurrency", "stale_after": timedelta(minutes=90)})
    assert r.parameters["stale_after"] == timedelta(minutes=90)
    assert r.parameters["max"] == 1 and r.parameters["per"] == "product_environment"


def test_rule_record_round_trips(vr: versioner.Versioner) -> None:
    r = vr.add_rule(FLOW)
    d = r.definition()
    d["prerequisites"] = ["staging", "qa"]
    updated = vr.update_rule("flow", d)
    assert updated.parameters["prerequisites"] == ["staging", "qa"]
    # A Rule record is accepted as is (its definition).
    again = vr.update_rule("flow", updated)
    assert again.parameters == updated.parameters
    # Definitions are copies: editing one changes nothing stored.
    updated.definition()["name"] = "changed"
    assert vr.rule("flow").name == "flow"


def test_update_can_rename(vr: versioner.Versioner) -> None:
    vr.add_rule(FLOW)
    r = vr.update_rule("flow", {**FLOW, "name": "renamed"})
    assert r.name == "renamed"
    with pytest.raises(versioner.NotFoundError):
        vr.rule("flow")


def test_duplicate_and_missing_rules(vr: versioner.Versioner) -> None:
    vr.add_rule(FLOW)
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.add_rule(FLOW)
    assert info.value.field == "name" and "already exists" in str(info.value)
    with pytest.raises(versioner.NotFoundError) as nf:
        vr.update_rule("nope", FLOW)
    assert (nf.value.kind, nf.value.name) == ("rule", "nope")
    with pytest.raises(versioner.NotFoundError):
        vr.delete_rule("nope")


def test_delete_rule(vr: versioner.Versioner) -> None:
    vr.add_rule(FLOW)
    vr.delete_rule("flow")
    assert vr.rules() == []


def test_invalid_rule_lists_every_problem(vr: versioner.Versioner) -> None:
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.add_rule({"name": "bad", "type": "release_approval", "required": 0, "bogus": 1})
    e = info.value
    assert isinstance(e, ValueError)
    fields = {p.field for p in e.problems}
    assert {"required", "bogus"} <= fields
    assert all(isinstance(p, versioner.PolicyProblem) and p.rule == "bad" for p in e.problems)
    assert e.field in fields
    with pytest.raises(versioner.InvalidInputError) as info2:
        vr.add_rule({"name": "x", "type": "nope"})
    assert info2.value.problems[0].field == "type"


def test_set_rule_status_and_history(vr: versioner.Versioner) -> None:
    vr.add_rule(FLOW)
    r = vr.set_rule_status("flow", "report-only", "dana", "noisy during migration")
    assert r.status == "report_only"
    r = vr.set_rule_status("flow", "DISABLED", "sam", "migration done")
    assert r.status == "disabled"
    history = vr.rule_history("flow")
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        ("enabled", "report_only", "dana"),
        ("report_only", "disabled", "sam"),
    ]
    assert isinstance(history[0], versioner.RuleStatusChange)
    assert history[0].reason == "noisy during migration"
    assert history[0].changed_at.tzinfo is not None
    assert vr.rule_history() == history
    assert vr.rule_history("other") == []
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.set_rule_status("flow", "paused", "dana", "x")
    assert info.value.field == "status" and "enabled, report_only, disabled" in str(info.value)
    with pytest.raises(versioner.InvalidInputError) as blank:
        vr.set_rule_status("flow", "enabled", " ", "x")
    assert blank.value.field == "actor"
    with pytest.raises(versioner.NotFoundError):
        vr.set_rule_status("nope", "enabled", "dana", "x")


def test_apply_policy_text(vr: versioner.Versioner) -> None:
    report = vr.apply_policy(POLICY_TOML)
    assert isinstance(report, versioner.ApplyReport)
    assert report.added == ["Staging before production", "Prod needs 2 approvals", "One at a time"]
    assert [r.name for r in vr.rules()] == report.added
    again = vr.apply_policy(POLICY_TOML)
    assert again.unchanged == report.added and again.added == []
    approvals = vr.rule("Prod needs 2 approvals")
    assert approvals.parameters["expires_after"] == timedelta(days=7)
    assert approvals.parameters["approver_roles"] == ["sre"]
    assert vr.rule("One at a time").parameters["stale_after"] == timedelta(minutes=90)


def test_apply_policy_replace_and_merge(vr: versioner.Versioner) -> None:
    vr.apply_policy(POLICY_TOML)
    merged = vr.apply_policy({"rules": [FLOW]}, mode="merge")
    assert merged.added == ["flow"] and merged.deleted == []
    assert len(vr.rules()) == 4
    replaced = vr.apply_policy([FLOW], mode="replace")
    assert replaced.unchanged == ["flow"]
    assert sorted(replaced.deleted) == sorted(
        ["Staging before production", "Prod needs 2 approvals", "One at a time"]
    )
    assert [r.name for r in vr.rules()] == ["flow"]
    changed = vr.apply_policy([{**FLOW, "status": "report_only"}], mode="MERGE", actor="ci")  # type: ignore[arg-type]
    assert changed.updated == ["flow"]
    assert vr.rule_history("flow")[-1].actor == "ci"


def test_apply_policy_json_text_and_files(vr: versioner.Versioner, tmp_path: Path) -> None:
    text = json.dumps({"rules": [FLOW]})
    assert vr.apply_policy(text).added == ["flow"]
    assert vr.apply_policy(json.dumps([FLOW]), format="json").unchanged == ["flow"]
    toml_file = tmp_path / "versioner.toml"
    toml_file.write_text(POLICY_TOML)
    assert len(vr.apply_policy(toml_file).added) == 3
    json_file = tmp_path / "policy.json"
    json_file.write_text(text)
    assert vr.apply_policy(str(json_file)).added == ["flow"]
    odd = tmp_path / "policy.txt"
    odd.write_text(text)
    assert vr.apply_policy(odd, format="json").unchanged == ["flow"]
    assert vr.apply_policy(str(odd), format="json").unchanged == ["flow"]


def test_invalid_policy_changes_nothing(vr: versioner.Versioner, tmp_path: Path) -> None:
    vr.apply_policy(POLICY_TOML)
    before = vr.rules()
    bad = POLICY_TOML + '\n[[rules]]\nname = "x"\ntype = "flow"\n'
    with pytest.raises(versioner.InvalidInputError) as info:
        vr.apply_policy(bad)
    assert info.value.problems and info.value.problems[0].rule == "x"
    assert vr.rules() == before
    with pytest.raises(versioner.InvalidInputError) as syntax:
        vr.apply_policy("[[rules]\nname=")
    assert syntax.value.field == "policy" and "TOML" in str(syntax.value)
    with pytest.raises(versioner.InvalidInputError) as missing:
        vr.apply_policy(str(tmp_path / "missing.toml"))
    assert "cannot read" in str(missing.value)
    with pytest.raises(versioner.InvalidInputError) as mode:
        vr.apply_policy(POLICY_TOML, mode="upsert")  # type: ignore[arg-type]
    assert mode.value.field == "mode"
    with pytest.raises(versioner.InvalidInputError) as fmt:
        vr.apply_policy(POLICY_TOML, format="yaml")  # type: ignore[arg-type]
    assert fmt.value.field == "format"
    with pytest.raises(TypeError):
        vr.apply_policy(42)  # type: ignore[arg-type]
    assert vr.rules() == before
