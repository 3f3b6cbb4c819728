//! The store the conformance suites run against: SQLite by default, PostgreSQL when
//! `VERSIONER_TEST_DATABASE_URL` is set (each call then gets a fresh schema in that database).
//! `scripts/test-postgres.sh` starts a throwaway cluster and runs the same suites against it.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of this module"
)]

use std::path::Path;

use versioner_core::Versioner;

/// The PostgreSQL URL under test, if any.
pub fn database_url() -> Option<String> {
    std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

fn unique_schema() -> String {
    format!("t_{}", uuid::Uuid::now_v7().simple())
}

/// A fresh, empty store.
pub fn fresh() -> Versioner {
    match database_url() {
        None => Versioner::open_in_memory().unwrap(),
        Some(_) => open(&format!("postgres:{}", unique_schema())),
    }
}

/// A new location several handles (threads, processes) can open: a SQLite file in `dir`, or a
/// fresh schema in the PostgreSQL database under test.
pub fn new_location(dir: &Path) -> String {
    match database_url() {
        None => format!("sqlite:{}", dir.join("shared.db").display()),
        Some(_) => format!("postgres:{}", unique_schema()),
    }
}

/// Opens a location made by [`new_location`].
pub fn open(location: &str) -> Versioner {
    if let Some(path) = location.strip_prefix("sqlite:") {
        return Versioner::open(path).unwrap();
    }
    #[cfg(feature = "postgres")]
    if let Some(schema) = location.strip_prefix("postgres:") {
        let url = database_url().expect("VERSIONER_TEST_DATABASE_URL");
        let options = versioner_core::store::PgOptions {
            schema: Some(schema.to_string()),
            ..Default::default()
        };
        let store = versioner_core::store::PgStore::connect_with(&url, &options).unwrap();
        return Versioner::with_store(std::sync::Arc::new(store));
    }
    panic!("cannot open `{location}`: PostgreSQL tests need the `postgres` feature");
}
