//! Variables and deployment buttons: scopes (a product's value overrides the organization's),
//! reserved names, one template per environment per product, rendering per version with the
//! system variables, `Missing variable: NAME`, and who may manage them. Runs on SQLite, and on
//! PostgreSQL under `scripts/test-postgres.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on unexpected values"
)]

mod common;

use versioner_core::buttons::{ButtonRequest, VariableRequest};
use versioner_core::{Actor, BuildEvent, ErrorCode, Role};

#[test]
fn buttons_render_per_version_with_scoped_and_system_variables() {
    let vr = common::fresh();
    let mut b = BuildEvent::new("api", "1.2.0", "completed");
    b.scm_sha = Some("1a2b3c4d".into());
    b.build_number = Some("77".into());
    vr.track_build(&b).unwrap();

    vr.set_variable(&VariableRequest::new("jenkins", "ci.example.com"))
        .unwrap();
    vr.set_variable(&VariableRequest::new("job", "org-deploy"))
        .unwrap();
    vr.set_variable(&VariableRequest::new("job", "api deploy/prod").product("api"))
        .unwrap();
    assert_eq!(vr.variables(None).unwrap().len(), 2);
    assert_eq!(
        vr.variables(Some("api")).unwrap()[0].value,
        "api deploy/prod"
    );

    let button = vr
        .add_deployment_button(&ButtonRequest::new(
            "api",
            "Deploy",
            "https://{jenkins}/job/{job}/buildWithParameters?VERSION={vi_version}&ENV={vi_environment_name}&SHA={vi_sha}&N={vi_build_number}",
            vec!["staging".into(), "production".into()],
        ))
        .unwrap();
    let rendered = vr.version_buttons("api", "1.2.0").unwrap();
    assert_eq!(rendered.len(), 2);
    assert_eq!(rendered[0].button_id, button.id);
    assert_eq!(
        rendered[1].url.as_deref(),
        Some(
            "https://ci.example.com/job/api%20deploy%2Fprod/buildWithParameters?VERSION=1.2.0&ENV=production&SHA=1a2b3c4d&N=77"
        )
    );

    // One template per environment per product.
    let err = vr
        .add_deployment_button(&ButtonRequest::new(
            "api",
            "Other",
            "https://x.example.com/",
            vec!["Production".into()],
        ))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.field(), Some("environments"));
    // Only http and https.
    let err = vr
        .add_deployment_button(&ButtonRequest::new(
            "api",
            "Bad",
            "javascript:alert(1)",
            vec!["dev".into()],
        ))
        .unwrap_err();
    assert_eq!(err.field(), Some("url_template"));
    assert_eq!(vr.deployment_buttons(Some("api")).unwrap().len(), 1);

    // A removed variable breaks rendering, with its name.
    vr.remove_variable("jenkins", None).unwrap();
    let rendered = vr.version_buttons("api", "1.2.0").unwrap();
    assert_eq!(rendered[0].url, None);
    assert_eq!(
        rendered[0].error.as_deref(),
        Some("Missing variable: jenkins")
    );

    // Names: lowercase, digits, underscore; `vi_` reserved.
    for bad in ["vi_version", "Jenkins", "a-b", ""] {
        let err = vr
            .set_variable(&VariableRequest::new(bad, "x"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{bad}");
        assert_eq!(err.field(), Some("name"));
    }
    let err = vr
        .set_variable(&VariableRequest::new("x", "y").product("nope"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);

    // Managed by admin, release_manager and sre; read by every role that reads.
    let dev = vr.acting_as(Actor::local("devi").with_role(Role::Developer));
    let err = dev
        .set_variable(&VariableRequest::new("x", "y"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(dev.version_buttons("api", "1.2.0").unwrap().len(), 2);
    vr.remove_deployment_button(&button.id).unwrap();
    assert!(vr.version_buttons("api", "1.2.0").unwrap().is_empty());
}

#[test]
fn a_policy_file_declares_variables() {
    use versioner_core::policy::{ApplyMode, PolicyFormat};
    let vr = common::fresh();
    vr.set_variable(&VariableRequest::new("manual", "kept"))
        .unwrap();
    let policy = r#"
[[variables]]
name = "jenkins"
value = "ci.example.com"

[[variables]]
name = "job"
value = "api-deploy"
product = "api"
"#;
    vr.apply_policy_text(policy, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap();
    let org: Vec<String> = vr
        .variables(None)
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(org, ["jenkins", "manual"]);
    assert_eq!(vr.variables(Some("api")).unwrap()[0].value, "api-deploy");

    let bad = "[[variables]]\nname = \"vi_sha\"\nvalue = \"x\"\n";
    let err = vr
        .apply_policy_text(bad, PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("variables[0].name"), "{err}");
    assert_eq!(vr.variables(None).unwrap().len(), 2, "nothing changed");

    vr.apply_policy_text("", PolicyFormat::Toml, ApplyMode::Replace, "admin")
        .unwrap();
    let org: Vec<String> = vr
        .variables(None)
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(org, ["manual"], "the policy's are gone, the API's stays");
    assert!(vr.variables(Some("api")).unwrap().is_empty());
}
