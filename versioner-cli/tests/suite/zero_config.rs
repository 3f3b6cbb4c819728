//! Zero configuration (issue 18, item 8): with no `--db`, `--database-url`, `--api-url` or key
//! anywhere, the CLI records in process into `versioner.db` in the Versioner home directory
//! (`~/.versioner`, moved by `VERSIONER_HOME`).

use std::path::Path;
use std::process::Command;

use crate::support::{Run, versioner};

/// The public product's own first example, exactly as the README types it.
const EXAMPLE: &[&str] = &[
    "track",
    "deployment",
    "--product=api-service",
    "--environment=production",
    "--version=1.2.3",
    "--status=success",
];

fn status_shows_the_example(home: &Path, env: &[(&str, &str)]) {
    let r = versioner(home, &["status"], env);
    assert_eq!(r.code, 0, "{r:?}");
    let row = r
        .stdout
        .lines()
        .find(|l| l.contains("api-service"))
        .unwrap_or_else(|| panic!("no api-service row:\n{}", r.stdout));
    assert!(row.contains("1.2.3"), "{}", r.stdout);
    assert!(r.stdout.contains("production"), "{}", r.stdout);
    let r = versioner(home, &["status", "-o", "json"], env);
    let cells = r.json()["cells"].clone();
    let cell = cells
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["product_name"] == "api-service")
        .unwrap()
        .clone();
    assert_eq!(cell["environment_name"], "production");
    assert_eq!(cell["current"]["version"], "1.2.3");
}

#[test]
fn in_an_empty_home_the_public_example_records_into_the_home_database() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let r = versioner(home, EXAMPLE, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let db = home.join(".versioner").join("versioner.db");
    assert!(db.is_file(), "the default database was not created");
    // Quiet by default; `-v` says once where it records and why.
    assert!(!r.stderr.contains("default database"), "{r:?}");
    status_shows_the_example(home, &[]);
    let r = versioner(home, &["status", "-v"], &[]);
    assert_eq!(r.stderr.matches("default database").count(), 1, "{r:?}");
    assert!(r.stderr.contains(&db.display().to_string()), "{r:?}");
    // The same database is what `--db` names explicitly.
    let explicit = db.to_str().unwrap();
    let r = versioner(home, &["--db", explicit, "status", "-o", "json"], &[]);
    assert_eq!(r.json()["cells"][0]["current"]["version"], "1.2.3");
}

#[test]
fn versioner_home_moves_the_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let moved = home.join("elsewhere").join("vr");
    let env = [("VERSIONER_HOME", moved.to_str().unwrap())];
    let r = versioner(home, EXAMPLE, &env);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(moved.join("versioner.db").is_file());
    assert!(!home.join(".versioner").exists());
    status_shows_the_example(home, &env);
    // Without VERSIONER_HOME the home database is another, empty one.
    let r = versioner(home, &["status"], &[]);
    assert_eq!((r.code, r.stdout.trim()), (0, "(nothing deployed yet)"));
}

#[test]
fn a_configured_backend_or_a_key_alone_never_falls_back_to_the_home_database() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("mine.db");
    let r = versioner(home, EXAMPLE, &[("VERSIONER_DB", db.to_str().unwrap())]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(db.is_file());
    assert!(!home.join(".versioner").exists());
    // A key alone means the hosted product (see the `tls` suite), never the home database.
    let r = versioner(home, EXAMPLE, &[("VERSIONER_API_KEY", "sk_vr_x")]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(!home.join(".versioner").join("versioner.db").exists());
}

#[test]
fn without_any_home_directory_the_cli_says_where_to_record() {
    let out = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(EXAMPLE)
        .env_clear()
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("nowhere to record"), "{r:?}");
    assert!(r.stderr.contains("--db"), "{r:?}");
}

#[test]
fn a_home_directory_that_cannot_be_created_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let file = home.join("a-file");
    std::fs::write(&file, "").unwrap();
    let blocked = file.join("vr");
    let r = versioner(
        home,
        EXAMPLE,
        &[("VERSIONER_HOME", blocked.to_str().unwrap())],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot create the Versioner home directory"),
        "{r:?}"
    );
    assert!(r.stderr.contains(&blocked.display().to_string()), "{r:?}");
}
