//! Direct conversions of the records on the hot paths (`check`, `trackDeployment`,
//! `trackBuild` and their synchronous variants, and a refusal's verdict) from the core's types
//! into their JavaScript mirrors ([`crate::records`]), field by field, without the serde JSON
//! round trip [`crate::records::from_core`] takes for the other records.
//!
//! The result is the very mirror the round trip builds (the same fields, `Date`s, absent
//! options), so what JavaScript sees does not change. The guard against a core field going
//! missing still holds: `__test__/records.test.mjs` fails until the mirror has the field, and
//! each conversion here builds the mirror with a struct literal, which then no longer compiles
//! until the field is filled in.

use versioner_core as core;

use crate::records::{
    BlockCode, Build, Decision, Deployment, OutcomeStatus, Preflight, PreflightStatus, RuleOutcome,
    RuleStatus, RuleType, Status, Verdict,
};

/// `impl From<core enum> for mirror enum`, variant for variant (an exhaustive match: a
/// variant the core adds fails to compile here).
macro_rules! enum_from_core {
    ($mirror:ident, $core:path, [$($variant:ident),+ $(,)?]) => {
        impl From<$core> for $mirror {
            fn from(value: $core) -> $mirror {
                use $core as C;
                match value {
                    $(C::$variant => $mirror::$variant,)+
                }
            }
        }
    };
}

enum_from_core!(
    Status,
    core::Status,
    [Pending, Started, Completed, Failed, Aborted]
);
enum_from_core!(
    RuleStatus,
    core::RuleStatus,
    [Enabled, ReportOnly, Disabled]
);
enum_from_core!(
    RuleType,
    core::policy::RuleType,
    [
        Concurrency,
        Schedule,
        Flow,
        VersionApproval,
        ReleaseApproval,
        DeploymentRequestRequired,
        MaxSkew,
    ]
);
enum_from_core!(
    OutcomeStatus,
    core::policy::OutcomeStatus,
    [Passed, Failed, FailedReportOnly, NotApplicable]
);
enum_from_core!(Decision, core::Decision, [Allowed, Blocked]);
enum_from_core!(PreflightStatus, core::PreflightStatus, [Passed, Skipped]);
enum_from_core!(
    BlockCode,
    core::policy::BlockCode,
    [
        ConcurrentDeployment,
        NoDeployWindow,
        FlowViolation,
        InsufficientSoakTime,
        ApprovalRequired,
        QualityApprovalRequired,
        DeploymentRequestPending,
        DeploymentRequestRequired,
    ]
);

impl From<&core::RuleOutcome> for RuleOutcome {
    fn from(o: &core::RuleOutcome) -> RuleOutcome {
        RuleOutcome {
            rule_name: o.rule_name.clone(),
            rule_type: o.rule_type.into(),
            rule_status: o.rule_status.into(),
            status: o.status.into(),
            code: o.code.map(BlockCode::from),
            message: o.message.clone(),
            details: o.details.clone(),
            retry_after: o.retry_after,
        }
    }
}

impl From<&core::Verdict> for Verdict {
    fn from(v: &core::Verdict) -> Verdict {
        Verdict {
            product_name: v.product_name().to_string(),
            version: v.version().to_string(),
            environment_name: v.environment_name().to_string(),
            decision: v.decision().into(),
            evaluated_at: v.evaluated_at(),
            retry_after: v.retry_after(),
            code: v.code().map(BlockCode::from),
            http_status: v.http_status().map(u32::from),
            // What the core's serde form writes as `message`.
            message: v.summary(),
            primary_rule: v.primary().map(|o| o.rule_name.clone()),
            outcomes: v.outcomes().iter().map(RuleOutcome::from).collect(),
        }
    }
}

impl From<core::Preflight> for Preflight {
    fn from(p: core::Preflight) -> Preflight {
        Preflight {
            status: p.status.into(),
            verdict: Verdict::from(&p.verdict),
            bypass_reason: p.bypass_reason,
        }
    }
}

impl From<core::Deployment> for Deployment {
    fn from(d: core::Deployment) -> Deployment {
        let f = d.fields;
        Deployment {
            id: d.id,
            product_id: d.product_id,
            product_name: d.product_name,
            version_id: d.version_id,
            version: d.version,
            environment_id: d.environment_id,
            environment_name: d.environment_name,
            status: d.status.into(),
            deployed_by: f.deployed_by,
            deployed_by_email: f.deployed_by_email,
            deployed_by_name: f.deployed_by_name,
            scm_sha: f.scm_sha,
            scm_repository: f.scm_repository,
            scm_branch: f.scm_branch,
            build_number: f.build_number,
            source_system: f.source_system,
            invoke_id: f.invoke_id,
            deploy_url: f.deploy_url,
            build_url: f.build_url,
            recorded_by: f.recorded_by,
            deployed_at: d.deployed_at,
            started_at: d.started_at,
            completed_at: d.completed_at,
            updated_at: d.updated_at,
            extra_metadata: d.extra_metadata,
            preflight: d.preflight.map(Preflight::from),
        }
    }
}

impl From<core::Build> for Build {
    fn from(b: core::Build) -> Build {
        let f = b.fields;
        Build {
            id: b.id,
            version_id: b.version_id,
            product_id: b.product_id,
            product_name: b.product_name,
            version: b.version,
            status: b.status.into(),
            built_by: f.built_by,
            built_by_email: f.built_by_email,
            built_by_name: f.built_by_name,
            scm_sha: f.scm_sha,
            scm_branch: f.scm_branch,
            scm_repository: f.scm_repository,
            build_url: f.build_url,
            build_number: f.build_number,
            source_system: f.source_system,
            invoke_id: f.invoke_id,
            error_message: f.error_message,
            error_code: f.error_code,
            recorded_by: f.recorded_by,
            started_at: b.started_at,
            completed_at: b.completed_at,
            created_at: b.created_at,
            updated_at: b.updated_at,
            extra_metadata: b.extra_metadata,
        }
    }
}
