//! Generates the C header `versioner.h` with cbindgen.
//!
//! The header is always generated into `$OUT_DIR/versioner.h`; the committed copy,
//! `include/versioner.h`, is rewritten only when `VERSIONER_UPDATE_HEADER=1` is set (or when it
//! does not exist yet), so an ordinary build never modifies the source tree. The test
//! `header_is_up_to_date` (tests/c_api.rs) fails when the committed copy differs from the
//! fresh generation; run `VERSIONER_UPDATE_HEADER=1 cargo build -p versioner-ffi` to refresh it.

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/versioner.h");
    println!("cargo:rerun-if-env-changed=VERSIONER_UPDATE_HEADER");

    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))?;
    let fresh = out_dir.join("versioner.h");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()?
        .write_to_file(&fresh);

    let committed = crate_dir.join("include").join("versioner.h");
    let update = std::env::var("VERSIONER_UPDATE_HEADER").is_ok_and(|v| v == "1");
    if update || !committed.exists() {
        std::fs::create_dir_all(crate_dir.join("include"))?;
        let text = std::fs::read(&fresh)?;
        if std::fs::read(&committed).ok().as_deref() != Some(text.as_slice()) {
            std::fs::write(&committed, text)?;
        }
    }
    Ok(())
}
