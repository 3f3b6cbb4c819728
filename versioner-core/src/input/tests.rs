//! Policies in every form, locations, and options read from JSON.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::ErrorCode;
use crate::policy::{ApplyMode, Rule};

/// A policy of `names.len()` concurrency rules as JSON, and the same policy as TOML.
fn policy_texts(names: &[String], maxes: &[u32]) -> (Value, String) {
    let rules: Vec<Value> = names
        .iter()
        .zip(maxes)
        .map(|(n, m)| json!({"name": n, "type": "concurrency", "max": m}))
        .collect();
    let toml: String = names
        .iter()
        .zip(maxes)
        .map(|(n, m)| format!("[[rules]]\nname = {n:?}\ntype = \"concurrency\"\nmax = {m}\n\n"))
        .collect();
    // No rules: `rules = []` says so (a document without `rules` is not the same policy).
    let toml = if toml.is_empty() {
        "rules = []\n".to_string()
    } else {
        toml
    };
    (json!({ "rules": rules }), toml)
}

/// Distinct rule names (TOML and JSON both take them as basic strings).
fn names() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[A-Za-z][A-Za-z0-9 _-]{0,20}", 0..5).prop_map(|s| {
        s.into_iter()
            .filter(|n| !n.trim().is_empty() && n.trim() == n)
            .collect()
    })
}

/// Blank space a document may start with.
fn blank() -> impl Strategy<Value = String> {
    "( |\t|\n|\r\n){0,6}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// JSON text with no format — an object or a bare array, after any blank space — reads as
    /// the JSON value does.
    #[test]
    fn json_text_without_a_format_is_detected(
        names in names(),
        max in 1u32..10,
        lead in blank(),
        bare in any::<bool>(),
    ) {
        let maxes = vec![max; names.len()];
        let (doc, _) = policy_texts(&names, &maxes);
        let doc = if bare { doc["rules"].clone() } else { doc };
        let expected = PolicyInput::from_value(doc.clone(), None)?.parse()?;
        let text = format!("{lead}{doc}");
        let input = PolicyInput::text(text.clone(), None);
        prop_assert_eq!(input.document()?.1, PolicyFormat::Json);
        prop_assert_eq!(input.parse()?, expected.clone());
        prop_assert_eq!(expected.rules.len(), names.len());
        // A string value is policy text, detected the same way.
        prop_assert_eq!(PolicyInput::from_value(Value::String(text), None)?.parse()?, expected);
    }

    /// TOML text with no format (its `[[rules]]` starts with `[` too) reads as TOML, and
    /// gives the same policy as the same rules in JSON.
    #[test]
    fn toml_text_without_a_format_is_detected(
        names in names(),
        maxes in proptest::collection::vec(1u32..10, 5),
        lead in blank(),
    ) {
        let (doc, toml) = policy_texts(&names, &maxes);
        let input = PolicyInput::text(format!("{lead}{toml}"), None);
        prop_assert_eq!(input.document()?.1, PolicyFormat::Toml);
        prop_assert_eq!(input.parse()?, PolicyInput::Value(doc).parse()?);
    }

    /// A file's format comes from its extension (any case), or from the format given.
    #[test]
    fn a_file_is_read_by_its_extension(
        names in names(),
        maxes in proptest::collection::vec(1u32..10, 5),
        upper in any::<bool>(),
    ) {
        let (doc, toml) = policy_texts(&names, &maxes);
        let expected = PolicyInput::Value(doc.clone()).parse()?;
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ext = |e: &str| if upper { e.to_ascii_uppercase() } else { e.to_string() };
        let json_path = dir.path().join(format!("policy.{}", ext("json")));
        let toml_path = dir.path().join(format!("policy.{}", ext("toml")));
        let other_path = dir.path().join("policy.rules");
        std::fs::write(&json_path, doc.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(&toml_path, &toml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(&other_path, doc.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(PolicyInput::file(&json_path, None).parse()?, expected.clone());
        prop_assert_eq!(PolicyInput::file(&toml_path, None).parse()?, expected.clone());
        // Any other extension is TOML unless the format says otherwise.
        prop_assert!(PolicyInput::file(&other_path, None).parse().is_err());
        prop_assert_eq!(
            PolicyInput::file(&other_path, Some(PolicyFormat::Json)).parse()?,
            expected.clone()
        );
        // A one-line string naming a policy file is that file (for local callers).
        let named = PolicyInput::text_or_path(json_path.to_string_lossy(), None);
        prop_assert_eq!(named.parse()?, expected);
    }

    /// Options: every documented key is accepted, alone or together, and lands in its field.
    #[test]
    fn every_documented_sqlite_key_is_accepted(
        sync in prop_oneof![Just("full"), Just("NORMAL"), Just("Normal")],
        ms in 0u64..100_000,
        with_sync in any::<bool>(),
        with_ms in any::<bool>(),
    ) {
        let mut doc = serde_json::Map::new();
        if with_sync {
            doc.insert("synchronous".into(), json!(sync));
        }
        if with_ms {
            doc.insert("busy_timeout_ms".into(), json!(ms));
        }
        let o = SqliteOptions::from_json(&Value::Object(doc))?;
        let d = SqliteOptions::default();
        let expected_sync = if with_sync { sync.parse()? } else { d.synchronous };
        prop_assert_eq!(o.synchronous, expected_sync);
        let expected_ms = if with_ms { Duration::from_millis(ms) } else { d.busy_timeout };
        prop_assert_eq!(o.busy_timeout, expected_ms);
    }

    /// Options: any key that is not documented is refused, naming the key, by every options
    /// type, whatever its value.
    #[test]
    fn an_unknown_key_is_refused_naming_it(
        key in "[A-Za-z_][A-Za-z0-9_]{0,20}",
        value in prop_oneof![Just(json!(1)), Just(json!("x")), Just(json!(null)), Just(json!({}))],
    ) {
        prop_assume!(!SQLITE_OPTION_KEYS.contains(&key.as_str()));
        prop_assume!(!PG_OPTION_KEYS.contains(&key.as_str()));
        prop_assume!(!CLIENT_OPTION_KEYS.contains(&key.as_str()));
        let doc = json!({ key.clone(): value });
        let errors = [
            SqliteOptions::from_json(&doc).map(drop),
            StoreOptions::from_json(&Location::Memory, &doc).map(drop),
            #[cfg(feature = "postgres")]
            crate::store::PgOptions::from_json(&doc).map(drop),
            #[cfg(feature = "client")]
            crate::client::ClientOptions::from_json(&doc).map(drop),
        ];
        for result in errors {
            let Err(e) = result else {
                return Err(TestCaseError::fail(format!("`{key}` was accepted")));
            };
            prop_assert_eq!(e.code(), ErrorCode::InvalidInput);
            prop_assert_eq!(e.field(), Some(key.as_str()));
            prop_assert!(e.to_string().contains("unknown option"), "{}", e);
        }
    }

    /// Any string that does not start like a URL or `sqlite:` and is not `:memory:` is a
    /// file path, kept as given.
    #[test]
    fn a_plain_string_is_a_file_path(path in "[A-Za-z0-9_./ -][A-Za-z0-9_./: -]{0,30}") {
        prop_assume!(!path.trim().is_empty() && path != ":memory:");
        prop_assume!(!path.to_ascii_lowercase().starts_with("sqlite:") && !path.contains("://"));
        prop_assert_eq!(Location::parse(&path)?, Location::Sqlite(PathBuf::from(&path)));
    }
}

#[test]
fn json_text_and_an_empty_policy_apply_without_a_format() -> Result<()> {
    let vr = Location::Memory.open(&Value::Null)?;
    for text in [r#"{"rules":[]}"#, "[]", " \n[ ]", "", "# nothing yet\n"] {
        let policy = PolicyInput::text(text, None).parse()?;
        assert!(policy.rules.is_empty(), "{text:?}");
        vr.apply_policy(&policy, ApplyMode::Replace, "test")?;
    }
    let t: &dyn crate::Tracker = &vr;
    let report = t.apply_policy_input(
        &PolicyInput::text(r#"{"rules":[{"name":"One","type":"concurrency"}]}"#, None),
        ApplyMode::Replace,
        "test",
    )?;
    assert_eq!(report.added, vec!["One".to_string()]);
    Ok(())
}

#[test]
fn a_value_is_an_object_with_rules_or_an_array() -> Result<()> {
    let rule = json!({"name": "One", "type": "concurrency", "max": 2});
    let from_object = PolicyInput::from_value(json!({ "rules": [rule.clone()] }), None)?.parse()?;
    let from_array =
        PolicyInput::from_value(json!([rule.clone()]), Some(PolicyFormat::Json))?.parse()?;
    assert_eq!(from_object, from_array);
    assert_eq!(from_object.rules, vec![Rule::from_json(&rule)?]);
    Ok(())
}

#[test]
fn bad_policies_name_the_field() {
    let field = |r: Result<PolicyFile>| r.unwrap_err().field().map(str::to_string);
    // A value of the wrong kind.
    for v in [json!(42), json!(true), json!(null)] {
        let e = PolicyInput::from_value(v, None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some("policy"), "{e}");
    }
    // TOML asked of a value that is already JSON.
    let e = PolicyInput::from_value(json!({"rules": []}), Some(PolicyFormat::Toml)).unwrap_err();
    assert_eq!(e.field(), Some("format"));
    // Text that is neither.
    assert_eq!(
        field(PolicyInput::text("{ nope", None).parse()),
        Some("policy".into())
    );
    assert_eq!(
        field(PolicyInput::text("[[rules]\n", None).parse()),
        Some("policy".into())
    );
    // Text that says it is JSON but is TOML.
    let e = PolicyInput::text("[[rules]]\nname='x'\n", Some(PolicyFormat::Json))
        .parse()
        .unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    // A missing file.
    let e = PolicyInput::file("/nonexistent/versioner.toml", None)
        .parse()
        .unwrap_err();
    assert_eq!(e.field(), Some("policy"));
    assert!(e.to_string().contains("cannot read"), "{e}");
    // A rule with a problem: named by rule and field.
    let e = PolicyInput::from_value(
        json!([{"name": "R", "type": "concurrency", "max": 0}]),
        None,
    )
    .and_then(|p| p.parse())
    .unwrap_err();
    assert_eq!(e.field(), Some("max"), "{e}");
    // An unknown top-level key.
    let e = PolicyInput::text(r#"{"rulez": []}"#, None)
        .parse()
        .unwrap_err();
    assert_eq!(e.field(), Some("rulez"), "{e}");
}

#[test]
fn text_or_path_reads_only_one_line_names() {
    assert!(matches!(
        PolicyInput::text_or_path("versioner.toml", None),
        PolicyInput::File { .. }
    ));
    assert!(matches!(
        PolicyInput::text_or_path(" ci/Policy.JSON ", None),
        PolicyInput::File { path, .. } if path == Path::new("ci/Policy.JSON")
    ));
    for text in [
        r#"{"rules":[]}"#,
        "[[rules]]\nname = 'a.toml'\n",
        "",
        "x = 1",
    ] {
        assert!(
            matches!(
                PolicyInput::text_or_path(text, None),
                PolicyInput::Text { .. }
            ),
            "{text:?}"
        );
    }
    // From the network a string is always text.
    assert!(matches!(
        PolicyInput::from_value(json!("versioner.toml"), None),
        Ok(PolicyInput::Text { .. })
    ));
}

#[test]
fn locations_parse() -> Result<()> {
    assert_eq!(Location::parse(":memory:")?, Location::Memory);
    assert_eq!(Location::parse("sqlite::memory:")?, Location::Memory);
    assert_eq!(Location::parse("sqlite://:memory:")?, Location::Memory);
    assert_eq!(
        Location::parse("SQLite:v.db")?,
        Location::Sqlite("v.db".into())
    );
    assert_eq!(
        Location::parse("sqlite:///var/lib/v.db")?,
        Location::Sqlite("/var/lib/v.db".into())
    );
    assert_eq!(
        Location::parse("sqlite://v.db")?,
        Location::Sqlite("v.db".into())
    );
    assert_eq!(
        Location::parse("./v.db")?,
        Location::Sqlite("./v.db".into())
    );
    assert_eq!(
        Location::parse(r"C:\data\v.db")?,
        Location::Sqlite(r"C:\data\v.db".into())
    );
    for url in [
        "postgres://u:secret@h/db",
        "postgresql://h/db",
        "POSTGRES://h/db",
    ] {
        let l = Location::parse(url)?;
        assert_eq!(l, Location::Postgres(url.into()));
        assert_eq!(l.kind(), StoreKind::Postgres);
        assert!(!format!("{l:?} {l}").contains("secret"));
    }
    for bad in ["", "  ", "sqlite:", "mysql://h/db", "file:///tmp/v.db"] {
        let e = Location::parse(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some("path"), "{bad:?}: {e}");
        assert!(!e.to_string().contains("/h/db"), "no URL in messages: {e}");
    }
    assert_eq!(
        Location::from_path(Path::new(":memory:"))?,
        Location::Memory
    );
    Ok(())
}

#[test]
fn a_location_opens_with_its_options() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::internal(e.to_string()))?;
    let path = dir.path().join("v.db");
    let location = Location::parse(&format!("sqlite:{}", path.display()))?;
    let vr = location.open(&json!({"synchronous": "normal", "busy_timeout_ms": 250}))?;
    vr.track_deployment(&crate::DeploymentEvent::new(
        "api", "1", "staging", "success",
    ))?;
    drop(vr);
    assert!(path.is_file());
    let again = Location::from_path(&path)?.open(&Value::Null)?;
    assert_eq!(again.state(None)?.version("api", "staging"), Some("1"));
    // In memory the options are read (and checked), and change nothing.
    Location::Memory.open(&json!({"synchronous": "full"}))?;
    Ok(())
}

#[test]
fn options_of_the_other_store_are_named_as_such() {
    let e = StoreOptions::from_json(&Location::Memory, &json!({"schema": "v"})).unwrap_err();
    assert_eq!(e.field(), Some("schema"));
    assert!(e.to_string().contains("is a PostgreSQL option"), "{e}");
    #[cfg(feature = "postgres")]
    {
        let pg = Location::postgres("postgres://h/db");
        let e = StoreOptions::from_json(&pg, &json!({"synchronous": "full"})).unwrap_err();
        assert_eq!(e.field(), Some("synchronous"));
        assert!(e.to_string().contains("is a SQLite option"), "{e}");
        let o = StoreOptions::from_json(
            &pg,
            &json!({"schema": "ci", "max_connections": 2, "connect_timeout_ms": 1500}),
        )
        .unwrap();
        let StoreOptions::Postgres(o) = o else {
            panic!("PostgreSQL options expected")
        };
        assert_eq!(o.schema.as_deref(), Some("ci"));
        assert_eq!(o.max_connections, 2);
        assert_eq!(o.connect_timeout, Duration::from_millis(1500));
        let e = Versioner::open_location(&pg, &StoreOptions::defaults(&Location::Memory).unwrap())
            .unwrap_err();
        assert_eq!(e.field(), Some("options"));
    }
    #[cfg(not(feature = "postgres"))]
    {
        let e = Location::postgres("postgres://h/db")
            .open(&Value::Null)
            .unwrap_err();
        assert_eq!(e.to_string(), Feature::Postgres.missing().to_string());
    }
}

#[test]
fn option_values_are_checked_naming_the_key() {
    let cases = [
        (json!({"synchronous": "sometimes"}), "synchronous"),
        (json!({"synchronous": 1}), "synchronous"),
        (json!({"busy_timeout_ms": -1}), "busy_timeout_ms"),
        (json!({"busy_timeout_ms": "30s"}), "busy_timeout_ms"),
        (json!({"busy_timeout_ms": 1.5}), "busy_timeout_ms"),
    ];
    for (doc, key) in cases {
        let e = SqliteOptions::from_json(&doc).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(e.field(), Some(key), "{doc}: {e}");
    }
    for doc in [json!([]), json!("synchronous=full"), json!(3)] {
        let e = SqliteOptions::from_json(&doc).unwrap_err();
        assert_eq!(e.field(), Some("options"), "{doc}: {e}");
    }
    #[cfg(feature = "postgres")]
    for (doc, key) in [
        (json!({"max_connections": 0}), "max_connections"),
        (json!({"connect_timeout_ms": 0}), "connect_timeout_ms"),
        (json!({"schema": 7}), "schema"),
    ] {
        let e = crate::store::PgOptions::from_json(&doc).unwrap_err();
        assert_eq!(e.field(), Some(key), "{doc}: {e}");
    }
}

#[cfg(feature = "client")]
#[test]
fn every_documented_client_key_is_accepted() {
    use crate::client::ClientOptions;
    let o = ClientOptions::from_json(&json!({
        "timeout_ms": 1500, "max_attempts": 2, "backoff_ms": 0, "max_wait_ms": 700,
        "user_agent": "ci/1"
    }))
    .unwrap();
    assert_eq!(o.timeout, Duration::from_millis(1500));
    assert_eq!(o.max_attempts.get(), 2);
    assert_eq!(o.backoff, Duration::ZERO);
    assert_eq!(o.max_wait, Duration::from_millis(700));
    assert_eq!(o.user_agent, "ci/1");
    assert_eq!(
        ClientOptions::from_json(&Value::Null).unwrap(),
        ClientOptions::default()
    );
    for (doc, key) in [
        (json!({"max_attempts": 0}), "max_attempts"),
        (json!({"timeout_ms": 0}), "timeout_ms"),
        (json!({"user_agent": 1}), "user_agent"),
    ] {
        let e = ClientOptions::from_json(&doc).unwrap_err();
        assert_eq!(e.field(), Some(key), "{doc}: {e}");
    }
}

#[test]
fn the_documented_key_lists_are_the_structs_keys() {
    // Every listed key is read (a value of the wrong type names it rather than calling it
    // unknown), so the lists that messages and bindings use cannot drift from the structs.
    let wrong = json!([[[]]]);
    for key in SQLITE_OPTION_KEYS {
        let e = SqliteOptions::from_json(&json!({ *key: wrong })).unwrap_err();
        assert!(!e.to_string().contains("unknown option"), "{key}: {e}");
    }
    #[cfg(feature = "postgres")]
    for key in PG_OPTION_KEYS {
        let e = crate::store::PgOptions::from_json(&json!({ *key: wrong })).unwrap_err();
        assert!(!e.to_string().contains("unknown option"), "{key}: {e}");
    }
    #[cfg(feature = "client")]
    for key in CLIENT_OPTION_KEYS {
        let e = crate::client::ClientOptions::from_json(&json!({ *key: wrong })).unwrap_err();
        assert!(!e.to_string().contains("unknown option"), "{key}: {e}");
    }
    // And the messages list exactly them.
    let e = SqliteOptions::from_json(&json!({"nope": 1})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid `nope`: unknown option; expected `synchronous` or `busy_timeout_ms`"
    );
}

#[test]
fn the_missing_feature_error_is_one_error() {
    for f in [Feature::Postgres, Feature::Client] {
        let e = f.missing();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(
            e.to_string().contains(&format!("(feature `{}`)", f.name())),
            "{e}"
        );
    }
}
