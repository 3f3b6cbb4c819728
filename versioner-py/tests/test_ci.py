"""`versioner.detect_ci`: CI/CD detection from environment variables (vectors)."""

from __future__ import annotations

import os
from typing import Any, Dict

import pytest

import versioner

SHA = "0123456789abcdef0123456789abcdef01234567"

VECTORS = [
    (
        "github",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/api",
            "GITHUB_SHA": SHA,
            "GITHUB_REF_NAME": "main",
            "GITHUB_RUN_NUMBER": "42",
            "GITHUB_RUN_ID": "9001",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_ACTOR": "dana",
            "GITHUB_WORKFLOW": "deploy",
        },
        {
            "system": "github",
            "source_system": "github",
            "scm_repository": "acme/api",
            "scm_sha": SHA,
            "scm_branch": "main",
            "build_number": "42",
            "build_url": "https://github.com/acme/api/actions/runs/9001",
            "invoke_id": "9001",
            "user": "dana",
            "product": "api",
            "version": SHA[:8],
            "metadata": {"vi_gh_workflow": "deploy"},
        },
    ),
    (
        "gitlab",
        {
            "GITLAB_CI": "true",
            "CI_PROJECT_PATH": "group/sub/web",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_REF_NAME": "release",
            "CI_PIPELINE_IID": "7",
            "CI_PIPELINE_ID": "555",
            "CI_PIPELINE_URL": "https://gitlab.example.com/p/555",
            "GITLAB_USER_LOGIN": "sam",
            "GITLAB_USER_EMAIL": "sam@example.com",
            "GITLAB_USER_NAME": "Sam",
        },
        {
            "system": "gitlab",
            "scm_repository": "group/sub/web",
            "build_number": "7",
            "invoke_id": "555",
            "user_email": "sam@example.com",
            "user_name": "Sam",
            "product": "web",
        },
    ),
    (
        "jenkins",
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "GIT_URL": "git@github.com:acme/billing.git",
            "GIT_COMMIT": SHA,
            "BUILD_NUMBER": "314",
            "BUILD_URL": "https://jenkins.example.com/job/b/314/",
        },
        {
            "system": "jenkins",
            "scm_repository": "github.com/acme/billing",
            "product": "billing",
            "version": "314",
            "build_number": "314",
        },
    ),
    ("circleci", {"CIRCLECI": "true", "CIRCLE_TAG": "v1.2.3"},
     {"system": "circleci", "scm_branch": "v1.2.3"}),
    ("bitbucket", {"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_REPO_FULL_NAME": "acme/api"},
     {"system": "bitbucket",
      "build_url": "https://bitbucket.org/acme/api/pipelines/results/12"}),
    ("azure-devops", {"TF_BUILD": "True", "BUILD_BUILDNUMBER": "2026.1"},
     {"system": "azure-devops", "version": "2026.1"}),
    ("travis", {"TRAVIS": "true", "TRAVIS_COMMIT": "abc"},
     {"system": "travis", "scm_sha": "abc", "version": "abc"}),
    ("rundeck", {"RD_JOB_ID": "j1", "RD_JOB_EXECID": "77", "RD_JOB_NAME": "deploy-api"},
     {"system": "rundeck", "invoke_id": "77", "product": "deploy-api", "version": "77"}),
    # Azure's trigger is case-sensitive; an empty variable is the same as an absent one.
    ("none", {"TF_BUILD": "true", "GITHUB_ACTIONS": ""},
     {"system": None, "source_system": "unknown", "metadata": {}}),
]


@pytest.mark.parametrize("name,env,expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_vectors(name: str, env: Dict[str, str], expected: Dict[str, Any]) -> None:
    info = versioner.detect_ci(env)
    assert isinstance(info, versioner.CiInfo)
    got = info.to_dict()
    for key, value in expected.items():
        assert got[key] == value, key
    if expected.get("system"):
        assert info.source_system == expected["system"]


def test_precedence_github_before_gitlab() -> None:
    assert versioner.detect_ci({"GITLAB_CI": "true", "GITHUB_ACTIONS": "true"}).system == "github"


def test_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        monkeypatch.delenv(k)
    assert versioner.detect_ci().system is None
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_PIPELINE_ID", "1")
    assert versioner.detect_ci().system == "gitlab"
    assert versioner.detect_ci(None).invoke_id == "1"
    assert versioner.detect_ci(os.environ).system == "gitlab"


def test_bad_env_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="mapping"):
        versioner.detect_ci(["GITHUB_ACTIONS"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str to str"):
        versioner.detect_ci({"GITHUB_ACTIONS": True})  # type: ignore[dict-item]


def test_detected_fields_feed_an_event(vr: versioner.Versioner) -> None:
    info = versioner.detect_ci(VECTORS[0][1])
    assert info.product is not None and info.version is not None
    d = vr.track_deployment(
        product_name=info.product,
        version=info.version,
        environment_name="staging",
        status="completed",
        scm_sha=info.scm_sha,
        deployed_by=info.user,
        deploy_url=info.build_url,
        source_system=info.source_system,
        invoke_id=info.invoke_id,
        extra_metadata=info.metadata,
    )
    assert d.source_system == "github" and d.extra_metadata == {"vi_gh_workflow": "deploy"}
