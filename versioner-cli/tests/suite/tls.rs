//! HTTPS end to end (issue 18, item 7): `versioner --api-url https://127.0.0.1:PORT` against
//! `versioner serve --tls-cert/--tls-key` and against a plain server behind a TLS-terminating
//! proxy, trusting a test CA (made here with rcgen) through `SSL_CERT_FILE` and through
//! `--ca-cert`; a server certificate from another CA is refused with a message naming the
//! problem, at once (not retried), exit 1. An API key alone means the public API. And
//! `versioner serve`'s hardening flags (items 2 and 3) reach the server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use versioner_core::Versioner;
use versioner_server::Role;

use crate::support::{Fixture, TestServer, versioner};

/// A certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1`, written as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki(dir: &Path, name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();
    let files = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-server.pem")),
        key: dir.join(format!("{name}-server.key")),
    };
    std::fs::write(&files.ca, ca.pem()).unwrap();
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, leaf_key.serialize_pem()).unwrap();
    files
}

/// `versioner serve` in a child process; killed on drop.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(home: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_versioner"))
        .args(["serve", "--db", "v.db", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_clear()
        .env("HOME", home)
        .current_dir(home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Served { child, url }
}

fn deploy_args<'a>(url: &'a str, version: &'a str) -> Vec<&'a str> {
    vec![
        "--api-url",
        url,
        "--max-attempts",
        "3",
        "track",
        "deployment",
        "--product",
        "api",
        "--version",
        version,
        "--environment",
        "staging",
        "--status",
        "success",
    ]
}

#[test]
fn the_cli_talks_https_to_serve_trusting_the_ca_by_ssl_cert_file_or_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let good = pki(home, "good");
    let other = pki(home, "other");
    let vr = Versioner::open(home.join("v.db")).unwrap();
    let key = vr.create_api_key("admin", Role::Admin).unwrap().secret;
    drop(vr);
    let cert = good.cert.to_string_lossy().into_owned();
    let private = good.key.to_string_lossy().into_owned();
    let server = serve(home, &["--tls-cert", &cert, "--tls-key", &private]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca = good.ca.to_string_lossy().into_owned();

    // SSL_CERT_FILE replaces the system's authorities with the test CA.
    let r = versioner(
        home,
        &deploy_args(&server.url, "1.0.0"),
        &[("VERSIONER_API_KEY", &key), ("SSL_CERT_FILE", &ca)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // --ca-cert adds it to the system's.
    let mut args = vec!["--ca-cert", ca.as_str()];
    args.extend(deploy_args(&server.url, "1.0.1"));
    let r = versioner(home, &args, &[("VERSIONER_API_KEY", &key)]);
    assert_eq!(r.code, 0, "{r:?}");
    // VERSIONER_CA_CERT too, and `versioner status` reads back both.
    let r = versioner(
        home,
        &["--api-url", &server.url, "status", "-o", "json"],
        &[("VERSIONER_API_KEY", &key), ("VERSIONER_CA_CERT", &ca)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("1.0.1"), "{r:?}");

    // A certificate from another CA: refused, naming the problem, without retrying.
    let wrong = other.ca.to_string_lossy().into_owned();
    for env in [
        vec![
            ("VERSIONER_API_KEY", key.as_str()),
            ("SSL_CERT_FILE", wrong.as_str()),
        ],
        vec![("VERSIONER_API_KEY", key.as_str())],
    ] {
        let started = Instant::now();
        let r = versioner(home, &deploy_args(&server.url, "1.0.2"), &env);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("NETWORK"), "{r:?}");
        assert!(
            r.stderr.contains("invalid peer certificate: UnknownIssuer"),
            "{r:?}"
        );
        assert!(r.stderr.contains("--ca-cert"), "{r:?}");
        assert!(!r.stderr.contains("after 3 attempts"), "not retried: {r:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // A bad --ca-cert file is named.
    let missing = home.join("missing.pem").to_string_lossy().into_owned();
    let mut args = vec!["--ca-cert", missing.as_str()];
    args.extend(deploy_args(&server.url, "1.0.3"));
    let r = versioner(home, &args, &[("VERSIONER_API_KEY", &key)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("ca_cert") && r.stderr.contains("missing.pem"),
        "{r:?}"
    );
    // Nothing of the refused calls was recorded.
    drop(server);
    let vr = Versioner::open(home.join("v.db")).unwrap();
    let versions: Vec<String> = vr
        .history(&versioner_core::HistoryQuery::default())
        .unwrap()
        .into_iter()
        .map(|d| d.version)
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
}

#[test]
fn serve_names_a_bad_certificate_or_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let good = pki(home, "good");
    let other = pki(home, "other");
    let s = |p: &PathBuf| p.to_string_lossy().into_owned();
    for (cert, key, want) in [
        (home.join("nope.pem"), good.key.clone(), "nope.pem"),
        (
            good.key.clone(),
            good.key.clone(),
            "holds no PEM certificate",
        ),
        (
            good.cert.clone(),
            other.key.clone(),
            "does not go with the certificate",
        ),
    ] {
        let r = versioner(
            home,
            &[
                "serve",
                "--db",
                "v.db",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &s(&cert),
                "--tls-key",
                &s(&key),
            ],
            &[],
        );
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains(want), "{want}: {r:?}");
    }
    let r = versioner(
        home,
        &["serve", "--db", "v.db", "--tls-cert", &s(&good.cert)],
        &[],
    );
    assert_eq!(r.code, 1, "--tls-cert needs --tls-key: {r:?}");
    assert!(r.stderr.contains("--tls-key"), "{r:?}");
}

/// A TLS-terminating proxy on a loopback port in front of `backend` (host:port), serving
/// `pki`'s certificate.
fn tls_proxy(pki: &Pki, backend: String) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&pki.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let backend = backend.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    url
}

#[test]
fn the_cli_talks_https_to_a_plain_server_behind_a_tls_proxy() {
    let f = Fixture::new();
    let server = TestServer::start(f.router());
    let good = pki(f.dir.path(), "proxy");
    let proxy = tls_proxy(&good, server.url.trim_start_matches("http://").to_string());
    let ca = good.ca.to_string_lossy().into_owned();
    let mut args = vec!["--ca-cert", ca.as_str()];
    args.extend(deploy_args(&proxy, "3.0.0"));
    let r = versioner(f.dir.path(), &args, &[("VERSIONER_API_KEY", &f.deployer)]);
    assert_eq!(r.code, 0, "{r:?}");
    let recorded = f
        .vr()
        .history(&versioner_core::HistoryQuery::default())
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].version, "3.0.0");
    // Without the CA, the proxy's certificate is refused by name.
    let r = versioner(
        f.dir.path(),
        &deploy_args(&proxy, "3.0.1"),
        &[("VERSIONER_API_KEY", &f.deployer)],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("UnknownIssuer"), "{r:?}");
}

/// With only an API key configured (no db, database_url or api_url), the CLI talks to the
/// public product's API, as the original CLI does; a db or api_url still wins.
#[test]
fn an_api_key_alone_means_the_public_api() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let quick = ["-v", "--max-attempts", "1", "--timeout", "3s", "status"];
    let r = versioner(home, &quick, &[("VERSIONER_API_KEY", "sk_test")]);
    assert!(
        r.stderr.contains("Mode: server https://api.versioner.io"),
        "{r:?}"
    );
    assert_eq!(r.code, 1, "no network here: {r:?}");
    std::fs::create_dir_all(home.join(".versioner")).unwrap();
    std::fs::write(home.join(".versioner/config.yaml"), "api_key: sk_test\n").unwrap();
    let r = versioner(home, &quick, &[]);
    assert!(
        r.stderr.contains("Mode: server https://api.versioner.io"),
        "{r:?}"
    );
    let r = versioner(home, &quick, &[("VERSIONER_DB", "v.db")]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Mode: in process"), "{r:?}");
}

/// `versioner serve`'s hardening flags reach the server: `--allowed-host` refuses another
/// `Host` (421, exit 4, naming the flag); `--rate-limit-per-ip` answers 429 `RATE_LIMITED`
/// once the burst is spent (exit 1 when the attempts run out, after waiting `Retry-After`).
#[test]
fn serve_applies_allowed_host_and_rate_limit_flags() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let vr = Versioner::open(home.join("v.db")).unwrap();
    let key = vr.create_api_key("admin", Role::Admin).unwrap().secret;
    drop(vr);
    let server = serve(home, &["--allowed-host", "versioner.internal"]);
    let r = versioner(
        home,
        &["--api-url", &server.url, "status"],
        &[("VERSIONER_API_KEY", &key)],
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("is not a name this server answers to")
            && r.stderr.contains("--allowed-host"),
        "{r:?}"
    );
    drop(server);

    let server = serve(
        home,
        &["--rate-limit-per-ip", "60", "--rate-limit-burst", "2"],
    );
    let status = |attempts: &str| {
        versioner(
            home,
            &[
                "--api-url",
                &server.url,
                "--max-attempts",
                attempts,
                "status",
            ],
            &[("VERSIONER_API_KEY", &key)],
        )
    };
    assert_eq!(status("1").code, 0);
    assert_eq!(status("1").code, 0);
    let refused = status("1");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("RATE_LIMITED"), "{refused:?}");
    assert!(
        refused.stderr.contains("--max-attempts"),
        "a hint: {refused:?}"
    );
    // With retries, the client waits what the server asks (a token per second) and succeeds.
    let started = Instant::now();
    assert_eq!(status("3").code, 0);
    assert!(started.elapsed() >= Duration::from_millis(500));
}
