"""examples/python/deploy.py, run as a pipeline would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import versioner

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "python" / "deploy.py"
POLICY = """
[[rules]]
name = "Staging before production"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
"""


def run(cwd: Path, *args: str, env: Optional[Dict[str, str]] = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        timeout=60,
    )


def test_deploy_script(tmp_path: Path) -> None:
    (tmp_path / "versioner.toml").write_text(POLICY)
    target = ["--product", "api", "--version", "1.0"]

    blocked = run(tmp_path, *target, "--environment", "production", "--", "true")
    assert blocked.returncode == 5, blocked.stderr
    assert "FLOW_VIOLATION" in blocked.stderr and "Staging before production" in blocked.stderr

    dry = run(tmp_path, *target, "--environment", "production", "--dry-run")
    assert dry.returncode == 5 and "blocked" in dry.stderr

    staged = run(tmp_path, *target, "--environment", "staging", "--", "true")
    assert staged.returncode == 0, staged.stderr

    failed = run(tmp_path, *target, "--environment", "production", "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3 and "recorded as failed" in failed.stderr

    ok = run(tmp_path, *target, "--environment", "production", "--", "true")
    assert ok.returncode == 0, ok.stderr

    vr = versioner.Versioner(tmp_path / "versioner.db")
    assert vr.state().version("api", "production") == "1.0"
    assert [d.status for d in vr.history(environment_name="production")] == ["completed", "failed"]


def test_deploy_script_reads_the_ci(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/web",
           "GITHUB_SHA": "abcdef1234567890", "GITHUB_ACTOR": "dana", "GITHUB_RUN_ID": "77"}
    r = run(tmp_path, "--environment", "staging", "--", "true", env=env)
    assert r.returncode == 0, r.stderr
    d = versioner.Versioner(tmp_path / "versioner.db").history()[0]
    assert (d.product_name, d.version, d.deployed_by) == ("web", "abcdef12", "dana")
    assert (d.source_system, d.invoke_id, d.scm_sha) == ("github", "77", "abcdef1234567890")
    usage = run(tmp_path, "--environment", "staging", "--", "true")
    assert usage.returncode == 2 and "--product and --version are required" in usage.stderr
