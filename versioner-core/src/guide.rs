//! The guide's Rust examples (`docs/src/**/*.md`), compiled and run as doctests of this crate:
//! `cargo test -p versioner-core --doc`. The docs runner (`scripts/docs/run_examples.py`)
//! refuses a page with a Rust block that is not included here.

/// `docs/src/surfaces/rust.md`.
#[doc = include_str!("../../docs/src/surfaces/rust.md")]
pub struct SurfacesRust;
