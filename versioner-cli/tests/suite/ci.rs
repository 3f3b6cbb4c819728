//! CI auto-detection through the CLI: the environment-variable vectors of reference §14 for all
//! 8 systems, mapped into the recorded build (`built_by*`, `build_url`, `scm_branch`) and
//! deployment (`deployed_by*`, `deploy_url`, no branch), with the `vi_*` metadata merged under
//! the user's keys.

use serde_json::{Value, json};

use crate::support::run_cli;

const SHA: &str = "abc123def456789012345678901234567890abcd";

struct Vector {
    system: &'static str,
    env: Vec<(&'static str, &'static str)>,
    repository: Option<&'static str>,
    branch: Option<&'static str>,
    build_number: Option<&'static str>,
    url: Option<&'static str>,
    invoke_id: Option<&'static str>,
    user: (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    ),
    product: &'static str,
    version: &'static str,
    metadata: Value,
}

fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            system: "github",
            env: vec![
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", "versioner-io/versioner-cli"),
                ("GITHUB_SHA", SHA),
                ("GITHUB_REF_NAME", "main"),
                ("GITHUB_RUN_NUMBER", "42"),
                ("GITHUB_RUN_ID", "123456"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_ACTOR", "octocat"),
                ("GITHUB_WORKFLOW", "CI"),
                ("GITHUB_JOB", "deploy"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/main"),
            ],
            repository: Some("versioner-io/versioner-cli"),
            branch: Some("main"),
            build_number: Some("42"),
            url: Some("https://github.com/versioner-io/versioner-cli/actions/runs/123456"),
            invoke_id: Some("123456"),
            user: (Some("octocat"), None, None),
            product: "versioner-cli",
            version: "abc123de",
            metadata: json!({"vi_gh_workflow": "CI", "vi_gh_job": "deploy", "vi_gh_run_attempt": "1",
                             "vi_gh_event_name": "push", "vi_gh_ref": "refs/heads/main"}),
        },
        Vector {
            system: "gitlab",
            env: vec![
                ("GITLAB_CI", "true"),
                ("CI_PROJECT_PATH", "myorg/my-project"),
                ("CI_COMMIT_SHA", SHA),
                ("CI_COMMIT_REF_NAME", "main"),
                ("CI_PIPELINE_IID", "7"),
                (
                    "CI_PIPELINE_URL",
                    "https://gitlab.com/myorg/my-project/-/pipelines/99",
                ),
                ("CI_PIPELINE_ID", "99"),
                ("GITLAB_USER_LOGIN", "dana"),
                ("GITLAB_USER_EMAIL", "dana@example.com"),
                ("GITLAB_USER_NAME", "Dana Scully"),
                ("CI_JOB_ID", "555"),
                ("CI_JOB_NAME", "deploy"),
                ("CI_PIPELINE_SOURCE", "push"),
            ],
            repository: Some("myorg/my-project"),
            branch: Some("main"),
            build_number: Some("7"),
            url: Some("https://gitlab.com/myorg/my-project/-/pipelines/99"),
            invoke_id: Some("99"),
            user: (Some("dana"), Some("dana@example.com"), Some("Dana Scully")),
            product: "my-project",
            version: "abc123de",
            metadata: json!({"vi_gl_pipeline_id": "99", "vi_gl_pipeline_url": "https://gitlab.com/myorg/my-project/-/pipelines/99",
                             "vi_gl_job_id": "555", "vi_gl_job_name": "deploy", "vi_gl_pipeline_source": "push"}),
        },
        Vector {
            system: "jenkins",
            env: vec![
                ("JENKINS_URL", "https://jenkins.example.com/"),
                ("GIT_URL", "git@github.com:owner/repo.git"),
                ("GIT_COMMIT", SHA),
                ("GIT_BRANCH", "origin/main"),
                ("BUILD_NUMBER", "17"),
                ("BUILD_URL", "https://jenkins.example.com/job/repo/17/"),
                ("BUILD_ID", "17"),
                ("BUILD_USER", "jen"),
                ("BUILD_USER_EMAIL", "jen@example.com"),
                ("JOB_NAME", "repo"),
                ("NODE_NAME", "agent-1"),
                ("EXECUTOR_NUMBER", "0"),
            ],
            repository: Some("github.com/owner/repo"),
            branch: Some("origin/main"),
            build_number: Some("17"),
            url: Some("https://jenkins.example.com/job/repo/17/"),
            invoke_id: Some("17"),
            user: (Some("jen"), Some("jen@example.com"), None),
            product: "repo",
            version: "17",
            metadata: json!({"vi_jenkins_job_name": "repo", "vi_jenkins_build_url": "https://jenkins.example.com/job/repo/17/",
                             "vi_jenkins_node_name": "agent-1", "vi_jenkins_executor_number": "0"}),
        },
        Vector {
            system: "circleci",
            env: vec![
                ("CIRCLECI", "true"),
                ("CIRCLE_PROJECT_USERNAME", "acme"),
                ("CIRCLE_PROJECT_REPONAME", "shop"),
                ("CIRCLE_SHA1", SHA),
                ("CIRCLE_TAG", "v1.0.0"),
                ("CIRCLE_BUILD_NUM", "5"),
                ("CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/shop/5"),
                ("CIRCLE_WORKFLOW_ID", "wf-1"),
                ("CIRCLE_USERNAME", "cc"),
                ("CIRCLE_JOB", "build"),
                ("CIRCLE_NODE_INDEX", "0"),
            ],
            repository: Some("acme/shop"),
            branch: Some("v1.0.0"),
            build_number: Some("5"),
            url: Some("https://circleci.com/gh/acme/shop/5"),
            invoke_id: Some("wf-1"),
            user: (Some("cc"), None, None),
            product: "shop",
            version: "abc123de",
            metadata: json!({"vi_circle_workflow_id": "wf-1", "vi_circle_job_name": "build", "vi_circle_node_index": "0"}),
        },
        Vector {
            system: "bitbucket",
            env: vec![
                ("BITBUCKET_BUILD_NUMBER", "12"),
                ("BITBUCKET_REPO_FULL_NAME", "team/app"),
                ("BITBUCKET_COMMIT", SHA),
                ("BITBUCKET_BRANCH", "main"),
                ("BITBUCKET_PIPELINE_UUID", "{pipe-1}"),
                ("BITBUCKET_STEP_UUID", "{step-1}"),
                ("BITBUCKET_REPO_SLUG", "app"),
                ("BITBUCKET_WORKSPACE", "team"),
            ],
            repository: Some("team/app"),
            branch: Some("main"),
            build_number: Some("12"),
            url: Some("https://bitbucket.org/team/app/pipelines/results/12"),
            invoke_id: Some("{pipe-1}"),
            user: (None, None, None),
            product: "app",
            version: "abc123de",
            metadata: json!({"vi_bb_pipeline_uuid": "{pipe-1}", "vi_bb_step_uuid": "{step-1}",
                             "vi_bb_workspace": "team", "vi_bb_repo_slug": "app"}),
        },
        Vector {
            system: "azure-devops",
            env: vec![
                ("TF_BUILD", "True"),
                ("BUILD_REPOSITORY_NAME", "org/svc"),
                ("BUILD_SOURCEVERSION", SHA),
                ("BUILD_SOURCEBRANCHNAME", "main"),
                ("BUILD_BUILDNUMBER", "20261121.3"),
                ("BUILD_BUILDURI", "vstfs:///Build/Build/77"),
                ("BUILD_BUILDID", "77"),
                ("BUILD_REQUESTEDFOR", "Ann"),
                ("BUILD_REQUESTEDFOREMAIL", "ann@example.com"),
                ("BUILD_DEFINITIONNAME", "svc-ci"),
                ("AGENT_NAME", "Hosted Agent"),
                ("SYSTEM_TEAMPROJECT", "Platform"),
            ],
            repository: Some("org/svc"),
            branch: Some("main"),
            build_number: Some("20261121.3"),
            url: Some("vstfs:///Build/Build/77"),
            invoke_id: Some("77"),
            user: (Some("Ann"), Some("ann@example.com"), None),
            product: "svc",
            version: "20261121.3",
            metadata: json!({"vi_azure_build_id": "77", "vi_azure_definition_name": "svc-ci",
                             "vi_azure_agent_name": "Hosted Agent", "vi_azure_team_project": "Platform"}),
        },
        Vector {
            system: "travis",
            env: vec![
                ("TRAVIS", "true"),
                ("TRAVIS_REPO_SLUG", "owner/lib"),
                ("TRAVIS_COMMIT", SHA),
                ("TRAVIS_BRANCH", "main"),
                ("TRAVIS_BUILD_NUMBER", "9"),
                (
                    "TRAVIS_BUILD_WEB_URL",
                    "https://app.travis-ci.com/owner/lib/builds/900",
                ),
                ("TRAVIS_BUILD_ID", "900"),
                ("TRAVIS_JOB_ID", "901"),
                ("TRAVIS_JOB_NUMBER", "9.1"),
                ("TRAVIS_EVENT_TYPE", "push"),
            ],
            repository: Some("owner/lib"),
            branch: Some("main"),
            build_number: Some("9"),
            url: Some("https://app.travis-ci.com/owner/lib/builds/900"),
            invoke_id: Some("900"),
            user: (None, None, None),
            product: "lib",
            version: "abc123de",
            metadata: json!({"vi_travis_build_id": "900", "vi_travis_job_id": "901",
                             "vi_travis_job_number": "9.1", "vi_travis_event_type": "push"}),
        },
        Vector {
            system: "rundeck",
            env: vec![
                ("RD_JOB_ID", "job-1"),
                ("RD_JOB_EXECID", "789"),
                ("RD_JOB_NAME", "deploy-api-service"),
                ("RD_JOB_USERNAME", "testuser"),
                ("RD_JOB_PROJECT", "production"),
                ("RD_JOB_SERVERURL", "https://rundeck.example.com"),
            ],
            repository: None,
            branch: None,
            build_number: Some("789"),
            url: Some("https://rundeck.example.com/project/production/execution/show/789"),
            invoke_id: Some("789"),
            user: (Some("testuser"), None, None),
            product: "deploy-api-service",
            version: "789",
            metadata: json!({"vi_rd_job_id": "job-1", "vi_rd_job_execid": "789", "vi_rd_job_name": "deploy-api-service",
                             "vi_rd_job_project": "production", "vi_rd_job_serverurl": "https://rundeck.example.com"}),
        },
    ]
}

fn with_db<'a>(v: &'a Vector, db: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut env = v.env.clone();
    env.push(("VERSIONER_DB", db));
    env
}

#[track_caller]
fn assert_field(body: &Value, field: &str, want: Option<&str>, system: &str) {
    assert_eq!(body[field].as_str(), want, "{system}: `{field}` in {body}");
}

#[test]
fn every_system_maps_into_the_recorded_build() {
    let dir = tempfile::tempdir().unwrap();
    for v in vectors() {
        let db = dir.path().join(format!("{}-b.db", v.system));
        let db = db.to_str().unwrap();
        let r = run_cli(
            &[
                "track",
                "build",
                "-o",
                "json",
                "--extra-metadata",
                r#"{"team":"core"}"#,
            ],
            &with_db(&v, db),
        );
        assert_eq!(r.code, 0, "{}: {r:?}", v.system);
        let b = r.json();
        let s = v.system;
        assert_field(&b, "source_system", Some(s), s);
        assert_field(&b, "product_name", Some(v.product), s);
        assert_field(&b, "version", Some(v.version), s);
        assert_field(&b, "scm_repository", v.repository, s);
        let sha = (s != "rundeck").then_some(SHA);
        assert_field(&b, "scm_sha", sha, s);
        assert_field(&b, "scm_branch", v.branch, s);
        assert_field(&b, "build_number", v.build_number, s);
        assert_field(&b, "build_url", v.url, s);
        assert_field(&b, "invoke_id", v.invoke_id, s);
        // Without a CI user, the actor (here the CLI's fallback `cli`: no $USER) built it.
        assert_field(&b, "built_by", v.user.0.or(Some("cli")), s);
        assert_field(&b, "recorded_by", Some("cli"), s);
        assert_field(&b, "built_by_email", v.user.1, s);
        assert_field(&b, "built_by_name", v.user.2, s);
        let mut want = v.metadata.as_object().unwrap().clone();
        want.insert("team".into(), json!("core"));
        assert_eq!(b["extra_metadata"], Value::Object(want), "{s}");
    }
}

#[test]
fn every_system_maps_into_the_recorded_deployment() {
    let dir = tempfile::tempdir().unwrap();
    for v in vectors() {
        let db = dir.path().join(format!("{}-d.db", v.system));
        let db = db.to_str().unwrap();
        let first_vi = v
            .metadata
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let user_meta = format!(r#"{{"{first_vi}":"mine"}}"#);
        let r = run_cli(
            &[
                "track",
                "deployment",
                "--environment",
                "staging",
                "-o",
                "json",
                "--extra-metadata",
                &user_meta,
            ],
            &with_db(&v, db),
        );
        assert_eq!(r.code, 0, "{}: {r:?}", v.system);
        let d = r.json();
        let s = v.system;
        assert_field(&d, "source_system", Some(s), s);
        assert_field(&d, "product_name", Some(v.product), s);
        assert_field(&d, "version", Some(v.version), s);
        assert_field(&d, "environment_name", Some("staging"), s);
        assert_field(&d, "status", Some("completed"), s);
        assert_field(&d, "scm_repository", v.repository, s);
        assert_field(&d, "deploy_url", v.url, s);
        assert_field(&d, "build_url", None, s);
        assert_field(&d, "scm_branch", None, s);
        assert_field(&d, "invoke_id", v.invoke_id, s);
        assert_field(&d, "deployed_by", v.user.0.or(Some("cli")), s);
        assert_field(&d, "recorded_by", Some("cli"), s);
        assert_field(&d, "deployed_by_email", v.user.1, s);
        assert_field(&d, "deployed_by_name", v.user.2, s);
        assert_eq!(d["extra_metadata"][&first_vi], "mine", "{s}: user keys win");
        // A completed-only event is preflighted, so its report joins the metadata.
        assert_eq!(
            d["extra_metadata"]["preflight_status"]["status"], "passed",
            "{s}"
        );
        assert_eq!(
            d["extra_metadata"].as_object().unwrap().len() - 1,
            v.metadata.as_object().unwrap().len(),
            "{s}"
        );
    }
}

#[test]
fn flags_and_variables_beat_detection_and_unknown_ci_sends_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let github = &vectors()[0];
    let mut env = with_db(github, db);
    env.push(("VERSIONER_SCM_BRANCH", "release"));
    let r = run_cli(
        &[
            "track",
            "build",
            "-o",
            "json",
            "--product",
            "mine",
            "--source-system",
            "custom",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let b = r.json();
    assert_eq!(b["product_name"], "mine");
    assert_eq!(b["source_system"], "custom");
    assert_eq!(b["scm_branch"], "release");
    assert_eq!(b["version"], "abc123de");

    let r = run_cli(
        &[
            "track",
            "build",
            "-o",
            "json",
            "--product",
            "p",
            "--version",
            "1",
        ],
        &[("VERSIONER_DB", db)],
    );
    assert_eq!(r.json()["source_system"], "unknown");
    assert_eq!(r.json()["extra_metadata"], json!({}));
    let r = run_cli(
        &["track", "build", "--version", "1"],
        &[("VERSIONER_DB", db)],
    );
    assert_eq!(r.code, 1, "no product outside CI: {r:?}");
}

#[test]
fn jenkins_git_urls_normalize() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let db = db.to_str().unwrap();
    for (i, url) in [
        "https://github.com/owner/repo.git",
        "http://github.com/owner/repo",
        "git@github.com:owner/repo.git",
        "github.com/owner/repo",
    ]
    .into_iter()
    .enumerate()
    {
        let n = (i + 1).to_string();
        let env = [
            ("JENKINS_URL", "https://j/"),
            ("GIT_URL", url),
            ("BUILD_NUMBER", n.as_str()),
            ("VERSIONER_DB", db),
        ];
        let r = run_cli(&["track", "build", "-o", "json"], &env);
        assert_eq!(r.code, 0, "{url}: {r:?}");
        assert_eq!(r.json()["scm_repository"], "github.com/owner/repo", "{url}");
        assert_eq!(r.json()["product_name"], "repo", "{url}");
        assert_eq!(r.json()["version"], n.as_str());
    }
}
