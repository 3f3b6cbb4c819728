//! CI/CD system auto-detection from environment variables.
//!
//! Versioner fills in build/deployment event fields it was not given explicitly from
//! the CI system it runs in. Detection precedence for data fields is: explicit flag →
//! `VERSIONER_*` env → config file → **CI auto-detection** → default; this module only
//! implements the auto-detection step.
//!
//! # Detection
//!
//! Systems are tried in this order and the first trigger that matches wins:
//!
//! | # | System (`source_system`) | Trigger |
//! |---|---|---|
//! | 1 | `github` | `GITHUB_ACTIONS == "true"` |
//! | 2 | `gitlab` | `GITLAB_CI == "true"` |
//! | 3 | `jenkins` | `JENKINS_URL` set |
//! | 4 | `circleci` | `CIRCLECI == "true"` |
//! | 5 | `bitbucket` | `BITBUCKET_BUILD_NUMBER` set |
//! | 6 | `azure-devops` | `TF_BUILD == "True"` (case-sensitive) |
//! | 7 | `travis` | `TRAVIS == "true"` |
//! | 8 | `rundeck` | `RD_JOB_ID` set |
//! | – | `unknown` | none of the above |
//!
//! An empty variable is always treated exactly like an absent one.
//!
//! # Field mapping
//!
//! | System | repository | sha | branch | build number | build URL | invoke id | user / email / name | product fallback | version fallback |
//! |---|---|---|---|---|---|---|---|---|---|
//! | github | `GITHUB_REPOSITORY` | `GITHUB_SHA` | `GITHUB_REF_NAME` | `GITHUB_RUN_NUMBER` | `{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}` (all 3 set) | `GITHUB_RUN_ID` | `GITHUB_ACTOR` / – / – | 2nd segment if repo is exactly `a/b` | sha8 |
//! | gitlab | `CI_PROJECT_PATH` | `CI_COMMIT_SHA` | `CI_COMMIT_REF_NAME` | `CI_PIPELINE_IID` | `CI_PIPELINE_URL` | `CI_PIPELINE_ID` | `GITLAB_USER_LOGIN` / `GITLAB_USER_EMAIL` / `GITLAB_USER_NAME` | last `/` segment | sha8 |
//! | jenkins | [`normalize_git_url`]`(GIT_URL)` | `GIT_COMMIT` | `GIT_BRANCH` | `BUILD_NUMBER` | `BUILD_URL` | `BUILD_ID` | `BUILD_USER` / `BUILD_USER_EMAIL` / – | last segment of normalized repo, `.git` trimmed | `BUILD_NUMBER` |
//! | circleci | `{CIRCLE_PROJECT_USERNAME}/{CIRCLE_PROJECT_REPONAME}` (both set) | `CIRCLE_SHA1` | `CIRCLE_BRANCH`, else `CIRCLE_TAG` | `CIRCLE_BUILD_NUM` | `CIRCLE_BUILD_URL` | `CIRCLE_WORKFLOW_ID` | `CIRCLE_USERNAME` / – / – | `CIRCLE_PROJECT_REPONAME` | sha8 |
//! | bitbucket | `BITBUCKET_REPO_FULL_NAME` | `BITBUCKET_COMMIT` | `BITBUCKET_BRANCH`, else `BITBUCKET_TAG` | `BITBUCKET_BUILD_NUMBER` | `https://bitbucket.org/{BITBUCKET_REPO_FULL_NAME}/pipelines/results/{BITBUCKET_BUILD_NUMBER}` (both set) | `BITBUCKET_PIPELINE_UUID` | – | `BITBUCKET_REPO_SLUG` | sha8 |
//! | azure-devops | `BUILD_REPOSITORY_NAME` | `BUILD_SOURCEVERSION` | `BUILD_SOURCEBRANCHNAME` | `BUILD_BUILDNUMBER` | `BUILD_BUILDURI` (a `vstfs:` URI) | `BUILD_BUILDID` | `BUILD_REQUESTEDFOR` / `BUILD_REQUESTEDFOREMAIL` / – | last `/` segment | `BUILD_BUILDNUMBER` |
//! | travis | `TRAVIS_REPO_SLUG` | `TRAVIS_COMMIT` | `TRAVIS_BRANCH`, else `TRAVIS_TAG` | `TRAVIS_BUILD_NUMBER` | `TRAVIS_BUILD_WEB_URL` | `TRAVIS_BUILD_ID` | – | 2nd segment if repo is exactly `a/b` | sha8 |
//! | rundeck | – | – | – | `RD_JOB_EXECID` | `{RD_JOB_SERVERURL}/project/{RD_JOB_PROJECT}/execution/show/{RD_JOB_EXECID}` (all 3 set) | `RD_JOB_EXECID` | `RD_JOB_USERNAME`, else `RD_JOB_USER_NAME` / – / – | `RD_JOB_NAME` | `RD_JOB_EXECID` |
//!
//! "sha8" is the first 8 characters of the SHA, or the whole SHA when it is shorter
//! (the original Go CLI sliced blindly and panicked on short SHAs). A fallback that
//! would come out empty is reported as `None`.
//!
//! On build events the user fields map to `built_by*`, the build URL to `build_url`;
//! on deployment events to `deployed_by*` and `deploy_url` (no branch).
//!
//! # `vi_*` extra metadata
//!
//! Each system also contributes string-valued `vi_*` keys (only for non-empty
//! variables), see [`CiInfo::metadata`]:
//!
//! | System | keys ← variables |
//! |---|---|
//! | github | `vi_gh_workflow`←`GITHUB_WORKFLOW`, `vi_gh_job`←`GITHUB_JOB`, `vi_gh_run_attempt`←`GITHUB_RUN_ATTEMPT`, `vi_gh_event_name`←`GITHUB_EVENT_NAME`, `vi_gh_ref`←`GITHUB_REF`, `vi_gh_head_ref`←`GITHUB_HEAD_REF`, `vi_gh_base_ref`←`GITHUB_BASE_REF` |
//! | gitlab | `vi_gl_pipeline_id`←`CI_PIPELINE_ID`, `vi_gl_pipeline_url`←`CI_PIPELINE_URL`, `vi_gl_job_id`←`CI_JOB_ID`, `vi_gl_job_name`←`CI_JOB_NAME`, `vi_gl_job_url`←`CI_JOB_URL`, `vi_gl_pipeline_source`←`CI_PIPELINE_SOURCE` |
//! | jenkins | `vi_jenkins_job_name`←`JOB_NAME`, `vi_jenkins_build_url`←`BUILD_URL`, `vi_jenkins_node_name`←`NODE_NAME`, `vi_jenkins_executor_number`←`EXECUTOR_NUMBER` |
//! | circleci | `vi_circle_workflow_id`←`CIRCLE_WORKFLOW_ID`, `vi_circle_workflow_job_id`←`CIRCLE_WORKFLOW_JOB_ID`, `vi_circle_job_name`←`CIRCLE_JOB`, `vi_circle_node_index`←`CIRCLE_NODE_INDEX` |
//! | bitbucket | `vi_bb_pipeline_uuid`←`BITBUCKET_PIPELINE_UUID`, `vi_bb_step_uuid`←`BITBUCKET_STEP_UUID`, `vi_bb_workspace`←`BITBUCKET_WORKSPACE`, `vi_bb_repo_slug`←`BITBUCKET_REPO_SLUG` |
//! | azure-devops | `vi_azure_build_id`←`BUILD_BUILDID`, `vi_azure_definition_name`←`BUILD_DEFINITIONNAME`, `vi_azure_agent_name`←`AGENT_NAME`, `vi_azure_team_project`←`SYSTEM_TEAMPROJECT` |
//! | travis | `vi_travis_build_id`←`TRAVIS_BUILD_ID`, `vi_travis_job_id`←`TRAVIS_JOB_ID`, `vi_travis_job_number`←`TRAVIS_JOB_NUMBER`, `vi_travis_event_type`←`TRAVIS_EVENT_TYPE` |
//! | rundeck | `vi_rd_job_id`←`RD_JOB_ID`, `vi_rd_job_execid`←`RD_JOB_EXECID`, `vi_rd_job_serverurl`←`RD_JOB_SERVERURL`, `vi_rd_job_project`←`RD_JOB_PROJECT`, `vi_rd_job_name`←`RD_JOB_NAME`, `vi_rd_job_group`←`RD_JOB_GROUP`, `vi_rd_job_url`←`RD_JOB_URL` |
//!
//! User-supplied extra metadata is shallow-merged over these keys with
//! [`merge_metadata`] (user keys win).

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

use serde_json::{Map, Value};

/// A CI/CD system Versioner recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiSystem {
    /// GitHub Actions (`GITHUB_ACTIONS == "true"`).
    Github,
    /// GitLab CI/CD (`GITLAB_CI == "true"`).
    Gitlab,
    /// Jenkins (`JENKINS_URL` set).
    Jenkins,
    /// `CircleCI` (`CIRCLECI == "true"`).
    Circleci,
    /// Bitbucket Pipelines (`BITBUCKET_BUILD_NUMBER` set).
    Bitbucket,
    /// Azure DevOps Pipelines (`TF_BUILD == "True"`, case-sensitive).
    AzureDevops,
    /// Travis CI (`TRAVIS == "true"`).
    Travis,
    /// Rundeck (`RD_JOB_ID` set).
    Rundeck,
}

impl CiSystem {
    /// All systems in detection order.
    pub const ALL: [CiSystem; 8] = [
        CiSystem::Github,
        CiSystem::Gitlab,
        CiSystem::Jenkins,
        CiSystem::Circleci,
        CiSystem::Bitbucket,
        CiSystem::AzureDevops,
        CiSystem::Travis,
        CiSystem::Rundeck,
    ];

    /// The `source_system` string: "github", "gitlab", "jenkins", "circleci", "bitbucket", "azure-devops", "travis", "rundeck".
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CiSystem::Github => "github",
            CiSystem::Gitlab => "gitlab",
            CiSystem::Jenkins => "jenkins",
            CiSystem::Circleci => "circleci",
            CiSystem::Bitbucket => "bitbucket",
            CiSystem::AzureDevops => "azure-devops",
            CiSystem::Travis => "travis",
            CiSystem::Rundeck => "rundeck",
        }
    }

    /// Whether this system's trigger variable is present in `env`.
    fn triggered<F: Fn(&str) -> Option<String>>(self, env: &Env<F>) -> bool {
        match self {
            CiSystem::Github => env.equals("GITHUB_ACTIONS", "true"),
            CiSystem::Gitlab => env.equals("GITLAB_CI", "true"),
            CiSystem::Jenkins => env.is_set("JENKINS_URL"),
            CiSystem::Circleci => env.equals("CIRCLECI", "true"),
            CiSystem::Bitbucket => env.is_set("BITBUCKET_BUILD_NUMBER"),
            CiSystem::AzureDevops => env.equals("TF_BUILD", "True"),
            CiSystem::Travis => env.equals("TRAVIS", "true"),
            CiSystem::Rundeck => env.is_set("RD_JOB_ID"),
        }
    }
}

impl fmt::Display for CiSystem {
    /// Writes [`CiSystem::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was detected (every field optional; `system` None = not in a known CI, `source_system` "unknown").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CiInfo {
    /// The detected CI system, `None` outside any recognised CI.
    pub system: Option<CiSystem>,
    /// Repository identifier (`owner/repo`, or `host/owner/repo` for Jenkins).
    pub scm_repository: Option<String>,
    /// Commit SHA being built/deployed.
    pub scm_sha: Option<String>,
    /// Branch (or tag, for CircleCI/Bitbucket/Travis when no branch is set).
    pub scm_branch: Option<String>,
    /// CI build/run number.
    pub build_number: Option<String>,
    /// Link to the CI run (`build_url` on builds, `deploy_url` on deployments).
    pub build_url: Option<String>,
    /// Identifier of this CI invocation (run/pipeline/workflow/execution id).
    pub invoke_id: Option<String>,
    /// User who triggered the run (`built_by` / `deployed_by`).
    pub user: Option<String>,
    /// That user's e-mail (`built_by_email` / `deployed_by_email`).
    pub user_email: Option<String>,
    /// That user's display name (`built_by_name` / `deployed_by_name`).
    pub user_name: Option<String>,
    /// Product name fallback, used when no product was given explicitly.
    pub product: Option<String>,
    /// Version fallback, used when no version was given explicitly.
    pub version: Option<String>,
    /// The system's `vi_*` extra-metadata keys (string values, only non-empty variables).
    pub metadata: Map<String, Value>,
}

impl CiInfo {
    /// `source_system` to send: the system id or "unknown".
    pub fn source_system(&self) -> &'static str {
        self.system.map_or("unknown", CiSystem::as_str)
    }
}

/// Detect from an arbitrary variable lookup (for tests and bindings that pass a dict).
///
/// `lookup` returns a variable's value or `None`; a `Some("")` is treated as absent.
#[must_use]
pub fn detect_with(lookup: impl Fn(&str) -> Option<String>) -> CiInfo {
    let env = Env(lookup);
    let Some(system) = CiSystem::ALL.into_iter().find(|s| s.triggered(&env)) else {
        return CiInfo::default();
    };
    let mut info = match system {
        CiSystem::Github => github(&env),
        CiSystem::Gitlab => gitlab(&env),
        CiSystem::Jenkins => jenkins(&env),
        CiSystem::Circleci => circleci(&env),
        CiSystem::Bitbucket => bitbucket(&env),
        CiSystem::AzureDevops => azure_devops(&env),
        CiSystem::Travis => travis(&env),
        CiSystem::Rundeck => rundeck(&env),
    };
    info.system = Some(system);
    info.metadata = env.metadata(metadata_keys(system));
    info
}

/// Detect from a map.
#[must_use]
pub fn detect_from_map<S: BuildHasher>(vars: &HashMap<String, String, S>) -> CiInfo {
    detect_with(|name| vars.get(name).cloned())
}

/// Detect from the process environment.
///
/// Variables whose value is not valid Unicode are treated as absent.
#[must_use]
pub fn detect() -> CiInfo {
    detect_with(|name| std::env::var(name).ok())
}

/// Shallow-merge user metadata over the detected `vi_*` map (user keys win); returns the merged object.
#[must_use]
pub fn merge_metadata(
    detected: &Map<String, Value>,
    user: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut merged = detected.clone();
    if let Some(user) = user {
        merged.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    merged
}

/// Normalize a Jenkins `GIT_URL` as described.
///
/// Spec behaviour (all four spec vectors give `github.com/owner/repo`): strip a
/// leading `https://`, `http://` or `git@`; strip a trailing `.git`; replace the
/// first `:` with `/`. So `git@github.com:owner/repo.git`, `https://github.com/owner/repo.git`,
/// `http://github.com/owner/repo` and `github.com/owner/repo` all normalize alike.
///
/// Deliberate fixes of the original Go CLI's quirks (which turned ports into path
/// segments and mangled `ssh://` URLs): any URL with an explicit scheme (`https`,
/// `http`, `ssh`, `git`, `git+ssh`, `ssh+git`; case-insensitive) is split into
/// authority and path; user info (`git@`, or `user:token@`, which is therefore never
/// leaked into the repository name) and a numeric port are dropped. Hence
/// `ssh://git@host/owner/repo.git` and `ssh://git@host:7999/owner/repo.git` both give
/// `host/owner/repo`. A non-numeric "port" (`ssh://git@host:owner/repo.git`) is
/// treated like the scp form and becomes a path segment.
#[must_use]
pub fn normalize_git_url(url: &str) -> String {
    let normalized = if let Some(rest) = strip_scheme(url) {
        normalize_scheme_url(rest)
    } else {
        let rest = url.strip_prefix("git@").unwrap_or(url);
        rest.replacen(':', "/", 1)
    };
    match normalized.strip_suffix(".git") {
        Some(stripped) => stripped.to_owned(),
        None => normalized,
    }
}

/// Returns the part after `scheme://` for the URL schemes handled structurally.
fn strip_scheme(url: &str) -> Option<&str> {
    const SCHEMES: [&str; 6] = ["https", "http", "ssh", "git", "git+ssh", "ssh+git"];
    let (scheme, rest) = url.split_once("://")?;
    SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then_some(rest)
}

/// Normalizes `[userinfo@]host[:port][/path]` to `host[/path]` (`.git` not yet stripped).
fn normalize_scheme_url(rest: &str) -> String {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_userinfo, host)| host);
    let (host, after_colon) = split_host_port(host_port);
    let mut out = host.to_owned();
    for segment in [after_colon, path] {
        if !segment.is_empty() {
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(segment);
        }
    }
    out
}

/// Splits `host[:port]` (IPv6 hosts in brackets) into the host and the non-numeric
/// text after the colon; a numeric port is discarded (returned as `""`).
fn split_host_port(host_port: &str) -> (&str, &str) {
    let split = if host_port.starts_with('[') {
        host_port.find(']').and_then(|end| {
            let (host, tail) = host_port.split_at(end + 1);
            tail.strip_prefix(':').map(|after| (host, after))
        })
    } else {
        host_port.split_once(':')
    };
    match split {
        Some((host, after)) if after.bytes().all(|b| b.is_ascii_digit()) => (host, ""),
        Some((host, after)) => (host, after),
        None => (host_port, ""),
    }
}

/// Variable lookup that treats empty values as absent.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The variable's value, `None` if unset or empty.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// Whether the variable is set to a non-empty value.
    fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the variable equals `expected` exactly (case-sensitive).
    fn equals(&self, name: &str, expected: &str) -> bool {
        self.get(name).is_some_and(|v| v == expected)
    }

    /// The first of `names` that is set.
    fn first_of(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|name| self.get(name))
    }

    /// `vi_*` map for `(key, variable)` pairs, skipping unset variables.
    fn metadata(&self, keys: &[(&str, &str)]) -> Map<String, Value> {
        keys.iter()
            .filter_map(|(key, var)| self.get(var).map(|v| ((*key).to_owned(), Value::String(v))))
            .collect()
    }
}

/// First 8 characters of `sha` (the whole SHA when shorter); char-safe, never panics.
fn sha8(sha: Option<&String>) -> Option<String> {
    sha.map(|s| s.chars().take(8).collect::<String>())
        .filter(|s| !s.is_empty())
}

/// Second segment of `repo` if it is exactly `a/b`.
fn second_of_pair(repo: Option<&String>) -> Option<String> {
    let (_, second) = repo?.split_once('/')?;
    (!second.is_empty() && !second.contains('/')).then(|| second.to_owned())
}

/// Last `/`-separated segment of `path`.
fn last_segment(path: Option<&String>) -> Option<String> {
    path?
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Fields for GitHub Actions (without `system` and `metadata`).
fn github<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env.get("GITHUB_REPOSITORY");
    let sha = env.get("GITHUB_SHA");
    let run_id = env.get("GITHUB_RUN_ID");
    let build_url = match (env.get("GITHUB_SERVER_URL"), &repo, &run_id) {
        (Some(server), Some(repo), Some(run_id)) => {
            Some(format!("{server}/{repo}/actions/runs/{run_id}"))
        }
        _ => None,
    };
    CiInfo {
        product: second_of_pair(repo.as_ref()),
        version: sha8(sha.as_ref()),
        scm_repository: repo,
        scm_sha: sha,
        scm_branch: env.get("GITHUB_REF_NAME"),
        build_number: env.get("GITHUB_RUN_NUMBER"),
        build_url,
        invoke_id: run_id,
        user: env.get("GITHUB_ACTOR"),
        ..CiInfo::default()
    }
}

/// Fields for GitLab CI/CD (without `system` and `metadata`).
fn gitlab<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env.get("CI_PROJECT_PATH");
    let sha = env.get("CI_COMMIT_SHA");
    CiInfo {
        product: last_segment(repo.as_ref()),
        version: sha8(sha.as_ref()),
        scm_repository: repo,
        scm_sha: sha,
        scm_branch: env.get("CI_COMMIT_REF_NAME"),
        build_number: env.get("CI_PIPELINE_IID"),
        build_url: env.get("CI_PIPELINE_URL"),
        invoke_id: env.get("CI_PIPELINE_ID"),
        user: env.get("GITLAB_USER_LOGIN"),
        user_email: env.get("GITLAB_USER_EMAIL"),
        user_name: env.get("GITLAB_USER_NAME"),
        ..CiInfo::default()
    }
}

/// Fields for Jenkins (without `system` and `metadata`).
fn jenkins<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env
        .get("GIT_URL")
        .map(|url| normalize_git_url(&url))
        .filter(|r| !r.is_empty());
    let product = last_segment(repo.as_ref())
        .map(|p| p.strip_suffix(".git").unwrap_or(&p).to_owned())
        .filter(|p| !p.is_empty());
    let build_number = env.get("BUILD_NUMBER");
    CiInfo {
        product,
        version: build_number.clone(),
        scm_repository: repo,
        scm_sha: env.get("GIT_COMMIT"),
        scm_branch: env.get("GIT_BRANCH"),
        build_number,
        build_url: env.get("BUILD_URL"),
        invoke_id: env.get("BUILD_ID"),
        user: env.get("BUILD_USER"),
        user_email: env.get("BUILD_USER_EMAIL"),
        ..CiInfo::default()
    }
}

/// Fields for `CircleCI` (without `system` and `metadata`).
fn circleci<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let reponame = env.get("CIRCLE_PROJECT_REPONAME");
    let repo = match (env.get("CIRCLE_PROJECT_USERNAME"), &reponame) {
        (Some(user), Some(name)) => Some(format!("{user}/{name}")),
        _ => None,
    };
    let sha = env.get("CIRCLE_SHA1");
    CiInfo {
        product: reponame,
        version: sha8(sha.as_ref()),
        scm_repository: repo,
        scm_sha: sha,
        scm_branch: env.first_of(&["CIRCLE_BRANCH", "CIRCLE_TAG"]),
        build_number: env.get("CIRCLE_BUILD_NUM"),
        build_url: env.get("CIRCLE_BUILD_URL"),
        invoke_id: env.get("CIRCLE_WORKFLOW_ID"),
        user: env.get("CIRCLE_USERNAME"),
        ..CiInfo::default()
    }
}

/// Fields for Bitbucket Pipelines (without `system` and `metadata`).
fn bitbucket<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env.get("BITBUCKET_REPO_FULL_NAME");
    let build_number = env.get("BITBUCKET_BUILD_NUMBER");
    let build_url = match (&repo, &build_number) {
        (Some(repo), Some(num)) => Some(format!(
            "https://bitbucket.org/{repo}/pipelines/results/{num}"
        )),
        _ => None,
    };
    let sha = env.get("BITBUCKET_COMMIT");
    CiInfo {
        product: env.get("BITBUCKET_REPO_SLUG"),
        version: sha8(sha.as_ref()),
        scm_repository: repo,
        scm_sha: sha,
        scm_branch: env.first_of(&["BITBUCKET_BRANCH", "BITBUCKET_TAG"]),
        build_number,
        build_url,
        invoke_id: env.get("BITBUCKET_PIPELINE_UUID"),
        ..CiInfo::default()
    }
}

/// Fields for Azure DevOps (without `system` and `metadata`).
fn azure_devops<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env.get("BUILD_REPOSITORY_NAME");
    let build_number = env.get("BUILD_BUILDNUMBER");
    CiInfo {
        product: last_segment(repo.as_ref()),
        version: build_number.clone(),
        scm_repository: repo,
        scm_sha: env.get("BUILD_SOURCEVERSION"),
        scm_branch: env.get("BUILD_SOURCEBRANCHNAME"),
        build_number,
        build_url: env.get("BUILD_BUILDURI"),
        invoke_id: env.get("BUILD_BUILDID"),
        user: env.get("BUILD_REQUESTEDFOR"),
        user_email: env.get("BUILD_REQUESTEDFOREMAIL"),
        ..CiInfo::default()
    }
}

/// Fields for Travis CI (without `system` and `metadata`).
fn travis<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let repo = env.get("TRAVIS_REPO_SLUG");
    let sha = env.get("TRAVIS_COMMIT");
    CiInfo {
        product: second_of_pair(repo.as_ref()),
        version: sha8(sha.as_ref()),
        scm_repository: repo,
        scm_sha: sha,
        scm_branch: env.first_of(&["TRAVIS_BRANCH", "TRAVIS_TAG"]),
        build_number: env.get("TRAVIS_BUILD_NUMBER"),
        build_url: env.get("TRAVIS_BUILD_WEB_URL"),
        invoke_id: env.get("TRAVIS_BUILD_ID"),
        ..CiInfo::default()
    }
}

/// Fields for Rundeck (without `system` and `metadata`).
fn rundeck<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> CiInfo {
    let exec_id = env.get("RD_JOB_EXECID");
    let build_url = match (
        env.get("RD_JOB_SERVERURL"),
        env.get("RD_JOB_PROJECT"),
        &exec_id,
    ) {
        (Some(server), Some(project), Some(exec_id)) => Some(format!(
            "{server}/project/{project}/execution/show/{exec_id}"
        )),
        _ => None,
    };
    CiInfo {
        build_number: exec_id.clone(),
        build_url,
        invoke_id: exec_id.clone(),
        user: env.first_of(&["RD_JOB_USERNAME", "RD_JOB_USER_NAME"]),
        product: env.get("RD_JOB_NAME"),
        version: exec_id,
        ..CiInfo::default()
    }
}

/// `(vi_* key, env var)` pairs per system.
fn metadata_keys(system: CiSystem) -> &'static [(&'static str, &'static str)] {
    match system {
        CiSystem::Github => &[
            ("vi_gh_workflow", "GITHUB_WORKFLOW"),
            ("vi_gh_job", "GITHUB_JOB"),
            ("vi_gh_run_attempt", "GITHUB_RUN_ATTEMPT"),
            ("vi_gh_event_name", "GITHUB_EVENT_NAME"),
            ("vi_gh_ref", "GITHUB_REF"),
            ("vi_gh_head_ref", "GITHUB_HEAD_REF"),
            ("vi_gh_base_ref", "GITHUB_BASE_REF"),
        ],
        CiSystem::Gitlab => &[
            ("vi_gl_pipeline_id", "CI_PIPELINE_ID"),
            ("vi_gl_pipeline_url", "CI_PIPELINE_URL"),
            ("vi_gl_job_id", "CI_JOB_ID"),
            ("vi_gl_job_name", "CI_JOB_NAME"),
            ("vi_gl_job_url", "CI_JOB_URL"),
            ("vi_gl_pipeline_source", "CI_PIPELINE_SOURCE"),
        ],
        CiSystem::Jenkins => &[
            ("vi_jenkins_job_name", "JOB_NAME"),
            ("vi_jenkins_build_url", "BUILD_URL"),
            ("vi_jenkins_node_name", "NODE_NAME"),
            ("vi_jenkins_executor_number", "EXECUTOR_NUMBER"),
        ],
        CiSystem::Circleci => &[
            ("vi_circle_workflow_id", "CIRCLE_WORKFLOW_ID"),
            ("vi_circle_workflow_job_id", "CIRCLE_WORKFLOW_JOB_ID"),
            ("vi_circle_job_name", "CIRCLE_JOB"),
            ("vi_circle_node_index", "CIRCLE_NODE_INDEX"),
        ],
        CiSystem::Bitbucket => &[
            ("vi_bb_pipeline_uuid", "BITBUCKET_PIPELINE_UUID"),
            ("vi_bb_step_uuid", "BITBUCKET_STEP_UUID"),
            ("vi_bb_workspace", "BITBUCKET_WORKSPACE"),
            ("vi_bb_repo_slug", "BITBUCKET_REPO_SLUG"),
        ],
        CiSystem::AzureDevops => &[
            ("vi_azure_build_id", "BUILD_BUILDID"),
            ("vi_azure_definition_name", "BUILD_DEFINITIONNAME"),
            ("vi_azure_agent_name", "AGENT_NAME"),
            ("vi_azure_team_project", "SYSTEM_TEAMPROJECT"),
        ],
        CiSystem::Travis => &[
            ("vi_travis_build_id", "TRAVIS_BUILD_ID"),
            ("vi_travis_job_id", "TRAVIS_JOB_ID"),
            ("vi_travis_job_number", "TRAVIS_JOB_NUMBER"),
            ("vi_travis_event_type", "TRAVIS_EVENT_TYPE"),
        ],
        CiSystem::Rundeck => &[
            ("vi_rd_job_id", "RD_JOB_ID"),
            ("vi_rd_job_execid", "RD_JOB_EXECID"),
            ("vi_rd_job_serverurl", "RD_JOB_SERVERURL"),
            ("vi_rd_job_project", "RD_JOB_PROJECT"),
            ("vi_rd_job_name", "RD_JOB_NAME"),
            ("vi_rd_job_group", "RD_JOB_GROUP"),
            ("vi_rd_job_url", "RD_JOB_URL"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run(pairs: &[(&str, &str)]) -> CiInfo {
        let map = vars(pairs);
        detect_with(|k| map.get(k).cloned())
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    fn meta(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    const GH_SHA: &str = "abc123def456789012345678901234567890abcd";

    #[test]
    fn github_recorded_vector() {
        let info = run(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "versioner-io/versioner-cli"),
            ("GITHUB_SHA", GH_SHA),
            ("GITHUB_RUN_ID", "123456"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ]);
        assert_eq!(info.system, Some(CiSystem::Github));
        assert_eq!(info.source_system(), "github");
        assert_eq!(info.scm_repository, s("versioner-io/versioner-cli"));
        assert_eq!(info.scm_sha, s(GH_SHA));
        assert_eq!(info.scm_branch, None);
        assert_eq!(info.build_number, None);
        assert_eq!(
            info.build_url,
            s("https://github.com/versioner-io/versioner-cli/actions/runs/123456")
        );
        assert_eq!(info.invoke_id, s("123456"));
        assert_eq!(info.user, None);
        assert_eq!(info.user_email, None);
        assert_eq!(info.user_name, None);
        assert_eq!(info.product, s("versioner-cli"));
        assert_eq!(info.version, s("abc123de"));
        assert!(info.metadata.is_empty());
    }

    #[test]
    fn github_all_fields_and_metadata() {
        let info = run(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/api"),
            ("GITHUB_SHA", GH_SHA),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_RUN_NUMBER", "42"),
            ("GITHUB_RUN_ID", "999"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_WORKFLOW", "CI"),
            ("GITHUB_JOB", "build"),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_BASE_REF", "main"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Github),
            scm_repository: s("acme/api"),
            scm_sha: s(GH_SHA),
            scm_branch: s("main"),
            build_number: s("42"),
            build_url: s("https://ghe.example.com/acme/api/actions/runs/999"),
            invoke_id: s("999"),
            user: s("octocat"),
            user_email: None,
            user_name: None,
            product: s("api"),
            version: s("abc123de"),
            metadata: meta(&[
                ("vi_gh_workflow", "CI"),
                ("vi_gh_job", "build"),
                ("vi_gh_run_attempt", "1"),
                ("vi_gh_event_name", "push"),
                ("vi_gh_ref", "refs/heads/main"),
                ("vi_gh_head_ref", "feature"),
                ("vi_gh_base_ref", "main"),
            ]),
        };
        assert_eq!(info, expected);
    }

    #[test]
    fn github_build_url_needs_all_three_and_product_needs_exact_pair() {
        let info = run(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "a/b/c"),
            ("GITHUB_RUN_ID", "1"),
        ]);
        assert_eq!(info.build_url, None);
        assert_eq!(info.product, None);
        assert_eq!(info.version, None);
        let info = run(&[("GITHUB_ACTIONS", "true"), ("GITHUB_REPOSITORY", "solo")]);
        assert_eq!(info.product, None);
    }

    #[test]
    fn gitlab_recorded_vector_and_all_fields() {
        let info = run(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "myorg/my-project"),
        ]);
        assert_eq!(info.system, Some(CiSystem::Gitlab));
        assert_eq!(info.source_system(), "gitlab");
        assert_eq!(info.scm_repository, s("myorg/my-project"));
        assert_eq!(info.product, s("my-project"));
        assert_eq!(info.version, None);
        assert!(info.metadata.is_empty());

        let info = run(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "group/sub/my-project"),
            ("CI_COMMIT_SHA", "0123456789abcdef"),
            ("CI_COMMIT_REF_NAME", "develop"),
            ("CI_PIPELINE_IID", "17"),
            ("CI_PIPELINE_URL", "https://gitlab.com/p/-/pipelines/555"),
            ("CI_PIPELINE_ID", "555"),
            ("GITLAB_USER_LOGIN", "jdoe"),
            ("GITLAB_USER_EMAIL", "jdoe@example.com"),
            ("GITLAB_USER_NAME", "Jane Doe"),
            ("CI_JOB_ID", "777"),
            ("CI_JOB_NAME", "deploy"),
            ("CI_JOB_URL", "https://gitlab.com/p/-/jobs/777"),
            ("CI_PIPELINE_SOURCE", "push"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Gitlab),
            scm_repository: s("group/sub/my-project"),
            scm_sha: s("0123456789abcdef"),
            scm_branch: s("develop"),
            build_number: s("17"),
            build_url: s("https://gitlab.com/p/-/pipelines/555"),
            invoke_id: s("555"),
            user: s("jdoe"),
            user_email: s("jdoe@example.com"),
            user_name: s("Jane Doe"),
            product: s("my-project"),
            version: s("01234567"),
            metadata: meta(&[
                ("vi_gl_pipeline_id", "555"),
                ("vi_gl_pipeline_url", "https://gitlab.com/p/-/pipelines/555"),
                ("vi_gl_job_id", "777"),
                ("vi_gl_job_name", "deploy"),
                ("vi_gl_job_url", "https://gitlab.com/p/-/jobs/777"),
                ("vi_gl_pipeline_source", "push"),
            ]),
        };
        assert_eq!(info, expected);
    }

    #[test]
    fn jenkins_all_fields() {
        let info = run(&[
            ("JENKINS_URL", "https://jenkins.example.com/"),
            ("GIT_URL", "git@github.com:acme/widget.git"),
            ("GIT_COMMIT", GH_SHA),
            ("GIT_BRANCH", "origin/main"),
            ("BUILD_NUMBER", "314"),
            ("BUILD_URL", "https://jenkins.example.com/job/widget/314/"),
            ("BUILD_ID", "314-id"),
            ("BUILD_USER", "builder"),
            ("BUILD_USER_EMAIL", "builder@example.com"),
            ("JOB_NAME", "widget"),
            ("NODE_NAME", "agent-1"),
            ("EXECUTOR_NUMBER", "2"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Jenkins),
            scm_repository: s("github.com/acme/widget"),
            scm_sha: s(GH_SHA),
            scm_branch: s("origin/main"),
            build_number: s("314"),
            build_url: s("https://jenkins.example.com/job/widget/314/"),
            invoke_id: s("314-id"),
            user: s("builder"),
            user_email: s("builder@example.com"),
            user_name: None,
            product: s("widget"),
            version: s("314"),
            metadata: meta(&[
                ("vi_jenkins_job_name", "widget"),
                (
                    "vi_jenkins_build_url",
                    "https://jenkins.example.com/job/widget/314/",
                ),
                ("vi_jenkins_node_name", "agent-1"),
                ("vi_jenkins_executor_number", "2"),
            ]),
        };
        assert_eq!(info, expected);
        assert_eq!(info.source_system(), "jenkins");
    }

    #[test]
    fn jenkins_product_trims_remaining_git_suffix_and_handles_no_git_url() {
        let info = run(&[
            ("JENKINS_URL", "x"),
            ("GIT_URL", "https://host/o/r.git.git"),
        ]);
        assert_eq!(info.scm_repository, s("host/o/r.git"));
        assert_eq!(info.product, s("r"));
        let info = run(&[("JENKINS_URL", "x")]);
        assert_eq!(info.system, Some(CiSystem::Jenkins));
        assert_eq!(info.scm_repository, None);
        assert_eq!(info.product, None);
        assert_eq!(info.version, None);
    }

    #[test]
    fn circleci_all_fields_and_tag_fallback() {
        let info = run(&[
            ("CIRCLECI", "true"),
            ("CIRCLE_PROJECT_USERNAME", "acme"),
            ("CIRCLE_PROJECT_REPONAME", "rocket"),
            ("CIRCLE_SHA1", GH_SHA),
            ("CIRCLE_TAG", "v1.2.3"),
            ("CIRCLE_BUILD_NUM", "88"),
            ("CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/rocket/88"),
            ("CIRCLE_WORKFLOW_ID", "wf-uuid"),
            ("CIRCLE_USERNAME", "circle-user"),
            ("CIRCLE_WORKFLOW_JOB_ID", "job-uuid"),
            ("CIRCLE_JOB", "build"),
            ("CIRCLE_NODE_INDEX", "0"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Circleci),
            scm_repository: s("acme/rocket"),
            scm_sha: s(GH_SHA),
            scm_branch: s("v1.2.3"),
            build_number: s("88"),
            build_url: s("https://circleci.com/gh/acme/rocket/88"),
            invoke_id: s("wf-uuid"),
            user: s("circle-user"),
            user_email: None,
            user_name: None,
            product: s("rocket"),
            version: s("abc123de"),
            metadata: meta(&[
                ("vi_circle_workflow_id", "wf-uuid"),
                ("vi_circle_workflow_job_id", "job-uuid"),
                ("vi_circle_job_name", "build"),
                ("vi_circle_node_index", "0"),
            ]),
        };
        assert_eq!(info, expected);
        assert_eq!(info.source_system(), "circleci");

        let info = run(&[
            ("CIRCLECI", "true"),
            ("CIRCLE_BRANCH", "main"),
            ("CIRCLE_TAG", "v1.2.3"),
            ("CIRCLE_PROJECT_REPONAME", "rocket"),
        ]);
        assert_eq!(info.scm_branch, s("main"));
        assert_eq!(
            info.scm_repository, None,
            "needs both username and reponame"
        );
        assert_eq!(info.product, s("rocket"));
    }

    #[test]
    fn bitbucket_all_fields_and_url_construction() {
        let info = run(&[
            ("BITBUCKET_BUILD_NUMBER", "12"),
            ("BITBUCKET_REPO_FULL_NAME", "team/service"),
            ("BITBUCKET_COMMIT", "feedfacecafebeef"),
            ("BITBUCKET_BRANCH", "release"),
            ("BITBUCKET_TAG", "v9"),
            ("BITBUCKET_PIPELINE_UUID", "{pipe}"),
            ("BITBUCKET_STEP_UUID", "{step}"),
            ("BITBUCKET_WORKSPACE", "team"),
            ("BITBUCKET_REPO_SLUG", "service"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Bitbucket),
            scm_repository: s("team/service"),
            scm_sha: s("feedfacecafebeef"),
            scm_branch: s("release"),
            build_number: s("12"),
            build_url: s("https://bitbucket.org/team/service/pipelines/results/12"),
            invoke_id: s("{pipe}"),
            user: None,
            user_email: None,
            user_name: None,
            product: s("service"),
            version: s("feedface"),
            metadata: meta(&[
                ("vi_bb_pipeline_uuid", "{pipe}"),
                ("vi_bb_step_uuid", "{step}"),
                ("vi_bb_workspace", "team"),
                ("vi_bb_repo_slug", "service"),
            ]),
        };
        assert_eq!(info, expected);
        assert_eq!(info.source_system(), "bitbucket");

        let info = run(&[("BITBUCKET_BUILD_NUMBER", "12"), ("BITBUCKET_TAG", "v9")]);
        assert_eq!(info.scm_branch, s("v9"));
        assert_eq!(info.build_url, None, "needs the full repo name");
    }

    #[test]
    fn azure_all_fields_and_case_sensitive_trigger() {
        let info = run(&[
            ("TF_BUILD", "True"),
            ("BUILD_REPOSITORY_NAME", "org/project/repo"),
            ("BUILD_SOURCEVERSION", GH_SHA),
            ("BUILD_SOURCEBRANCHNAME", "main"),
            ("BUILD_BUILDNUMBER", "20240101.1"),
            ("BUILD_BUILDURI", "vstfs:///Build/Build/1234"),
            ("BUILD_BUILDID", "1234"),
            ("BUILD_REQUESTEDFOR", "Azure User"),
            ("BUILD_REQUESTEDFOREMAIL", "az@example.com"),
            ("BUILD_DEFINITIONNAME", "repo-ci"),
            ("AGENT_NAME", "Hosted Agent"),
            ("SYSTEM_TEAMPROJECT", "project"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::AzureDevops),
            scm_repository: s("org/project/repo"),
            scm_sha: s(GH_SHA),
            scm_branch: s("main"),
            build_number: s("20240101.1"),
            build_url: s("vstfs:///Build/Build/1234"),
            invoke_id: s("1234"),
            user: s("Azure User"),
            user_email: s("az@example.com"),
            user_name: None,
            product: s("repo"),
            version: s("20240101.1"),
            metadata: meta(&[
                ("vi_azure_build_id", "1234"),
                ("vi_azure_definition_name", "repo-ci"),
                ("vi_azure_agent_name", "Hosted Agent"),
                ("vi_azure_team_project", "project"),
            ]),
        };
        assert_eq!(info, expected);
        assert_eq!(info.source_system(), "azure-devops");

        for not_true in ["true", "TRUE", "1", "yes"] {
            let info = run(&[("TF_BUILD", not_true), ("BUILD_BUILDNUMBER", "1")]);
            assert_eq!(info, CiInfo::default(), "TF_BUILD={not_true}");
            assert_eq!(info.source_system(), "unknown");
        }
    }

    #[test]
    fn travis_all_fields_and_tag_fallback() {
        let info = run(&[
            ("TRAVIS", "true"),
            ("TRAVIS_REPO_SLUG", "owner/lib"),
            ("TRAVIS_COMMIT", GH_SHA),
            ("TRAVIS_BRANCH", "master"),
            ("TRAVIS_BUILD_NUMBER", "501"),
            (
                "TRAVIS_BUILD_WEB_URL",
                "https://app.travis-ci.com/owner/lib/builds/9",
            ),
            ("TRAVIS_BUILD_ID", "9"),
            ("TRAVIS_JOB_ID", "91"),
            ("TRAVIS_JOB_NUMBER", "501.1"),
            ("TRAVIS_EVENT_TYPE", "push"),
        ]);
        let expected = CiInfo {
            system: Some(CiSystem::Travis),
            scm_repository: s("owner/lib"),
            scm_sha: s(GH_SHA),
            scm_branch: s("master"),
            build_number: s("501"),
            build_url: s("https://app.travis-ci.com/owner/lib/builds/9"),
            invoke_id: s("9"),
            user: None,
            user_email: None,
            user_name: None,
            product: s("lib"),
            version: s("abc123de"),
            metadata: meta(&[
                ("vi_travis_build_id", "9"),
                ("vi_travis_job_id", "91"),
                ("vi_travis_job_number", "501.1"),
                ("vi_travis_event_type", "push"),
            ]),
        };
        assert_eq!(info, expected);
        assert_eq!(info.source_system(), "travis");

        let info = run(&[("TRAVIS", "true"), ("TRAVIS_TAG", "v2.0.0")]);
        assert_eq!(info.scm_branch, s("v2.0.0"));
    }

    #[test]
    fn rundeck_recorded_vector_and_metadata() {
        let info = run(&[
            ("RD_JOB_ID", "job-uuid"),
            ("RD_JOB_EXECID", "789"),
            ("RD_JOB_NAME", "deploy-api-service"),
            ("RD_JOB_USERNAME", "testuser"),
            ("RD_JOB_PROJECT", "production"),
            ("RD_JOB_SERVERURL", "https://rundeck.example.com"),
            ("RD_JOB_GROUP", "deploys"),
            ("RD_JOB_URL", "https://rundeck.example.com/job/x"),
        ]);
        assert_eq!(info.system, Some(CiSystem::Rundeck));
        assert_eq!(info.source_system(), "rundeck");
        assert_eq!(info.scm_repository, None);
        assert_eq!(info.scm_sha, None);
        assert_eq!(info.scm_branch, None);
        assert_eq!(info.build_number, s("789"));
        assert_eq!(
            info.build_url,
            s("https://rundeck.example.com/project/production/execution/show/789")
        );
        assert_eq!(info.invoke_id, s("789"));
        assert_eq!(info.user, s("testuser"));
        assert_eq!(info.user_email, None);
        assert_eq!(info.user_name, None);
        assert_eq!(info.product, s("deploy-api-service"));
        assert_eq!(info.version, s("789"));
        assert_eq!(
            info.metadata,
            meta(&[
                ("vi_rd_job_id", "job-uuid"),
                ("vi_rd_job_execid", "789"),
                ("vi_rd_job_serverurl", "https://rundeck.example.com"),
                ("vi_rd_job_project", "production"),
                ("vi_rd_job_name", "deploy-api-service"),
                ("vi_rd_job_group", "deploys"),
                ("vi_rd_job_url", "https://rundeck.example.com/job/x"),
            ])
        );
    }

    #[test]
    fn rundeck_user_fallback_and_partial_url() {
        let info = run(&[
            ("RD_JOB_ID", "j"),
            ("RD_JOB_USERNAME", ""),
            ("RD_JOB_USER_NAME", "fallback"),
            ("RD_JOB_EXECID", "5"),
            ("RD_JOB_SERVERURL", "https://rd"),
        ]);
        assert_eq!(info.user, s("fallback"));
        assert_eq!(info.build_url, None, "needs the project too");
    }

    #[test]
    fn no_trigger_is_unknown_with_empty_map() {
        let info = run(&[]);
        assert_eq!(info, CiInfo::default());
        assert_eq!(info.system, None);
        assert_eq!(info.source_system(), "unknown");
        assert!(info.metadata.is_empty());

        // Data vars without a trigger are ignored.
        let info = run(&[("GITHUB_SHA", GH_SHA), ("GITHUB_WORKFLOW", "CI")]);
        assert_eq!(info, CiInfo::default());
    }

    #[test]
    fn detection_order_precedence() {
        let triggers: [(CiSystem, (&str, &str)); 8] = [
            (CiSystem::Github, ("GITHUB_ACTIONS", "true")),
            (CiSystem::Gitlab, ("GITLAB_CI", "true")),
            (CiSystem::Jenkins, ("JENKINS_URL", "https://j")),
            (CiSystem::Circleci, ("CIRCLECI", "true")),
            (CiSystem::Bitbucket, ("BITBUCKET_BUILD_NUMBER", "1")),
            (CiSystem::AzureDevops, ("TF_BUILD", "True")),
            (CiSystem::Travis, ("TRAVIS", "true")),
            (CiSystem::Rundeck, ("RD_JOB_ID", "r")),
        ];
        for (i, (system, _)) in triggers.iter().enumerate() {
            assert_eq!(CiSystem::ALL.get(i), Some(system));
            // This trigger plus every later one: the earlier system wins.
            let set: Vec<(&str, &str)> = triggers.iter().skip(i).map(|(_, kv)| *kv).collect();
            assert_eq!(run(&set).system, Some(*system));
        }
        // Two triggers: GitLab beats Jenkins, and GitLab's data is used.
        let info = run(&[
            ("JENKINS_URL", "https://j"),
            ("BUILD_NUMBER", "3"),
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "g/p"),
        ]);
        assert_eq!(info.system, Some(CiSystem::Gitlab));
        assert_eq!(info.build_number, None);
        assert_eq!(info.product, s("p"));
    }

    #[test]
    fn empty_vars_are_absent() {
        // Empty trigger does not match; falls through to the next system.
        let info = run(&[("JENKINS_URL", ""), ("RD_JOB_ID", "r")]);
        assert_eq!(info.system, Some(CiSystem::Rundeck));
        let info = run(&[("BITBUCKET_BUILD_NUMBER", "")]);
        assert_eq!(info.system, None);

        // Empty data vars are None and never reach metadata.
        let info = run(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", ""),
            ("GITHUB_SHA", ""),
            ("GITHUB_RUN_ID", "1"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_WORKFLOW", ""),
            ("GITHUB_JOB", "j"),
        ]);
        assert_eq!(info.scm_repository, None);
        assert_eq!(info.scm_sha, None);
        assert_eq!(info.version, None);
        assert_eq!(info.product, None);
        assert_eq!(info.build_url, None);
        assert_eq!(info.metadata, meta(&[("vi_gh_job", "j")]));

        // Empty branch falls back to the tag.
        let info = run(&[
            ("TRAVIS", "true"),
            ("TRAVIS_BRANCH", ""),
            ("TRAVIS_TAG", "v1"),
        ]);
        assert_eq!(info.scm_branch, s("v1"));
    }

    #[test]
    fn short_sha_version_fallback_does_not_panic() {
        let info = run(&[("GITHUB_ACTIONS", "true"), ("GITHUB_SHA", "abc")]);
        assert_eq!(info.version, s("abc"));
        let info = run(&[("GITLAB_CI", "true"), ("CI_COMMIT_SHA", "12345678")]);
        assert_eq!(info.version, s("12345678"));
        // Multi-byte characters are cut on char boundaries.
        let info = run(&[("TRAVIS", "true"), ("TRAVIS_COMMIT", "ééééééééé")]);
        assert_eq!(info.version, s("éééééééé"));
    }

    #[test]
    fn normalize_git_url_spec_vectors() {
        for url in [
            "https://github.com/owner/repo.git",
            "http://github.com/owner/repo",
            "git@github.com:owner/repo.git",
            "github.com/owner/repo",
        ] {
            assert_eq!(normalize_git_url(url), "github.com/owner/repo", "{url}");
        }
    }

    #[test]
    fn normalize_git_url_ssh_fixes() {
        assert_eq!(
            normalize_git_url("ssh://git@host/owner/repo.git"),
            "host/owner/repo"
        );
        assert_eq!(
            normalize_git_url("ssh://git@host:7999/owner/repo.git"),
            "host/owner/repo"
        );
        assert_eq!(
            normalize_git_url("ssh://git@host:owner/repo.git"),
            "host/owner/repo"
        );
        assert_eq!(
            normalize_git_url("https://user:token@host:8443/owner/repo.git"),
            "host/owner/repo"
        );
        assert_eq!(
            normalize_git_url("ssh://git@[::1]:22/owner/repo.git"),
            "[::1]/owner/repo"
        );
        assert_eq!(normalize_git_url(""), "");
        assert_eq!(normalize_git_url("ssh://"), "");
        assert_eq!(normalize_git_url("ssh://[::1"), "[::1");

        let info = run(&[
            ("JENKINS_URL", "x"),
            ("GIT_URL", "ssh://git@bitbucket.corp:7999/proj/app.git"),
        ]);
        assert_eq!(info.scm_repository, s("bitbucket.corp/proj/app"));
        assert_eq!(info.product, s("app"));
    }

    #[test]
    fn merge_metadata_user_wins() {
        let detected = meta(&[("vi_gh_job", "build"), ("vi_gh_ref", "refs/heads/main")]);
        let mut user = Map::new();
        user.insert("vi_gh_job".into(), Value::from(7));
        user.insert("team".into(), Value::from("core"));
        let merged = merge_metadata(&detected, Some(&user));
        assert_eq!(merged.len(), 3);
        assert_eq!(merged.get("vi_gh_job"), Some(&Value::from(7)));
        assert_eq!(
            merged.get("vi_gh_ref"),
            Some(&Value::from("refs/heads/main"))
        );
        assert_eq!(merged.get("team"), Some(&Value::from("core")));
        assert_eq!(merge_metadata(&detected, None), detected);
        assert!(merge_metadata(&Map::new(), None).is_empty());
    }

    #[test]
    fn system_ids_serde_and_map_entry_point() {
        let ids: Vec<&str> = CiSystem::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            ids,
            [
                "github",
                "gitlab",
                "jenkins",
                "circleci",
                "bitbucket",
                "azure-devops",
                "travis",
                "rundeck"
            ]
        );
        for system in CiSystem::ALL {
            let json = serde_json::to_value(system).ok();
            assert_eq!(json, Some(Value::from(system.as_str())));
            let back: Option<CiSystem> = serde_json::from_value(Value::from(system.as_str())).ok();
            assert_eq!(back, Some(system));
            assert_eq!(system.to_string(), system.as_str());
        }

        let map = vars(&[("TRAVIS", "true"), ("TRAVIS_REPO_SLUG", "o/r")]);
        let info = detect_from_map(&map);
        assert_eq!(info.system, Some(CiSystem::Travis));
        assert_eq!(info.product, s("r"));
    }
}
