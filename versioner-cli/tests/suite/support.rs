//! Shared fixtures: servers on loopback ports, keys, and running the CLI.

#![allow(dead_code, reason = "each test module uses a different part")]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

use axum::Router;
use serde_json::Value;
use tempfile::TempDir;
use versioner_core::Versioner;
use versioner_server::{AppState, AuthMode, Role, ServerOptions, router};

/// A policy with one flow rule: production needs staging first.
pub const FLOW_POLICY: &str = r#"
[[rules]]
name = "Staging before production"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
"#;

/// A server's state plus one key per role.
pub struct Fixture {
    pub dir: TempDir,
    pub db: PathBuf,
    pub state: AppState,
    pub admin: String,
    pub deployer: String,
    pub approver: String,
    pub viewer: String,
}

impl Fixture {
    /// A fresh database file with keys for every role and the flow policy applied.
    pub fn new() -> Fixture {
        Fixture::with_options(ServerOptions::default())
    }

    pub fn with_options(options: ServerOptions) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("versioner.db");
        let vr = Versioner::open(&db).unwrap();
        vr.apply_policy_text(
            FLOW_POLICY,
            versioner_core::policy::PolicyFormat::Toml,
            versioner_core::policy::ApplyMode::Replace,
            "test",
        )
        .unwrap();
        let key = |name: &str, role: Role| vr.create_api_key(name, role).unwrap().secret;
        let admin = key("admin", Role::Admin);
        let deployer = key("ci", Role::Ci);
        let approver = key("lead", Role::ReleaseManager);
        let viewer = key("dash", Role::Viewer);
        let state = AppState::new(vr, options);
        Fixture {
            dir,
            db,
            state,
            admin,
            deployer,
            approver,
            viewer,
        }
    }

    pub fn open(options: ServerOptions) -> Fixture {
        Fixture::with_options(options.auth(AuthMode::Open))
    }

    pub fn vr(&self) -> &Versioner {
        self.state.versioner()
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }
}

/// A server running on a loopback port in its own thread; stopped on drop.
pub struct TestServer {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(app: Router) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        TestServer {
            url,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback URL nobody listens on.
pub fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// What a CLI run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the `versioner` binary with a clean environment (plus `env`) and `HOME` in `home`.
pub fn versioner(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .envs(env.iter().copied())
        .current_dir(home)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the CLI in this process (`versioner_cli::run`) with exactly `env`.
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Run {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let lookup = move |k: &str| map.get(k).cloned();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["versioner"];
    argv.extend_from_slice(args);
    let exit = versioner_cli::run(argv, &lookup, &mut out, &mut err);
    Run {
        code: i32::from(exit.code()),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}
