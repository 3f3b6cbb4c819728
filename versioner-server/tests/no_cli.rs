//! The server crate can be mounted in any axum application without the command line: its
//! normal dependency tree holds no clap.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

#[test]
fn the_server_crate_does_not_depend_on_clap() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "versioner-server",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("versioner-core"), "{tree}");
    assert!(
        !tree.lines().any(|l| l.starts_with("clap")),
        "versioner-server pulls in clap:\n{tree}"
    );
}
