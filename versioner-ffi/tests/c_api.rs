//! The C ABI, tested from C: compiles `tests/c/test_versioner.c` with the system C compiler
//! (`$CC`, else `cc`) against the shared and the static library and runs it; runs it under
//! valgrind (no leaks, no invalid access); checks that the committed header is what cbindgen
//! generates now, that it also compiles as C++, that the library exports exactly the header's
//! functions and that the C test calls every one of them; builds the example gate and checks
//! its exit codes; and, when the `versioner` binary has been built, runs the C test's remote
//! part against `versioner serve`.
//!
//! During `cargo test` the libraries exist only in `target/<profile>/deps` (next to this test
//! binary). They are copied from there once per run and linked from the copy: `deps` has one
//! unhashed `libversioner.so` / `.a` that any other build of the crate sharing the target
//! directory (other features, `cargo build` running meanwhile) rewrites in place.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test harness: helpers fail loudly with the reason, and report skips on stderr"
)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>/deps`, where cargo test leaves libversioner.so and libversioner.a.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().expect("deps directory").to_path_buf()
}

/// A private copy of this build's libversioner.so and libversioner.a (see the module docs).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("versioner-ffi-c");
        // Copies left by earlier runs (an hour old: never one a running test still uses).
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(3600)));
                if old && e.file_name().to_string_lossy().starts_with("lib-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = root.join(format!("lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the library directory");
        for name in ["libversioner.so", "libversioner.a"] {
            std::fs::copy(deps_dir().join(name), dir.join(name))
                .unwrap_or_else(|e| panic!("copy {name} from {}: {e}", deps_dir().display()));
        }
        dir
    })
}

/// `target/<profile>`.
fn profile_dir() -> PathBuf {
    deps_dir()
        .parent()
        .expect("profile directory")
        .to_path_buf()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("versioner-ffi-c")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Clone, Copy)]
enum Link {
    Shared,
    Static,
}

/// Compiles one C program against libversioner; returns the executable.
fn compile(source: &Path, exe: &Path, link: Link) -> PathBuf {
    let deps = lib_dir();
    let mut cmd = Command::new(cc());
    cmd.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-g",
    ])
    .arg("-pthread")
    .arg("-I")
    .arg(crate_dir().join("include"))
    .arg(source)
    .arg("-o")
    .arg(exe);
    match link {
        Link::Shared => {
            cmd.arg(format!("-L{}", deps.display()))
                .arg(format!("-Wl,-rpath,{}", deps.display()))
                .arg("-lversioner");
        }
        Link::Static => {
            cmd.arg(deps.join("libversioner.a")).args([
                "-lpthread",
                "-ldl",
                "-lm",
                "-lrt",
                "-lutil",
            ]);
        }
    }
    let out = cmd.output().expect("run the C compiler ($CC or cc)");
    assert!(out.status.success(), "{}", show("compile", &out));
    exe.to_path_buf()
}

/// A command running a C program built by [`compile`]. cargo test puts `target/<profile>` on
/// `LD_LIBRARY_PATH`, which would take precedence over the program's rpath and could load a
/// stale `libversioner.so` uplifted by an earlier `cargo build`; the rpath is the truth.
/// A command running a C program; the PostgreSQL part runs only in
/// `c_program_on_postgresql`, which sets the database URL itself.
fn c_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("LD_LIBRARY_PATH")
        .env_remove("VERSIONER_TEST_DATABASE_URL");
    cmd
}

fn c_test_source() -> PathBuf {
    crate_dir().join("tests").join("c").join("test_versioner.c")
}

fn run_c_test(link: Link, name: &str) {
    let dir = scratch(name);
    let exe = compile(&c_test_source(), &dir.join("test_versioner"), link);
    let out = c_command(&exe).arg(&dir).output().expect("run the C test");
    assert!(out.status.success(), "{}", show("C test", &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    eprintln!("{name}: {}", stdout.trim());
}

#[test]
fn c_program_against_shared_library() {
    run_c_test(Link::Shared, "shared");
}

#[test]
fn c_program_against_static_library() {
    run_c_test(Link::Static, "static");
}

/// `versioner_connect_postgres` against the database `VERSIONER_TEST_DATABASE_URL` names
/// (`scripts/test-postgres.sh` starts one and sets `VERSIONER_REQUIRE_POSTGRES=1`, so there
/// it cannot be skipped).
#[test]
fn c_program_on_postgresql() {
    let Some(url) = std::env::var("VERSIONER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("VERSIONER_REQUIRE_POSTGRES").is_err(),
            "VERSIONER_REQUIRE_POSTGRES is set but VERSIONER_TEST_DATABASE_URL is not"
        );
        eprintln!("VERSIONER_TEST_DATABASE_URL is not set: the PostgreSQL part is skipped");
        return;
    };
    let dir = scratch("postgres");
    let exe = compile(&c_test_source(), &dir.join("test_versioner"), Link::Shared);
    let out = c_command(&exe)
        .arg(&dir)
        .env("VERSIONER_TEST_DATABASE_URL", url)
        .output()
        .expect("run the C test");
    assert!(out.status.success(), "{}", show("C test (postgres)", &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("postgres tests ran"), "{stdout}");
}

/// The sources a valgrind pass vouches for: this crate's source and C test, the core's source,
/// the lock file and the suppressions (path, size and modification time of each file).
fn source_fingerprint(supp: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let root = crate_dir().join("..");
    let mut files = vec![root.join("Cargo.lock"), supp.to_path_buf()];
    for dir in [
        "versioner-ffi/src",
        "versioner-ffi/tests/c",
        "versioner-core/src",
    ] {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok();
            let len = m.as_ref().map_or(0, std::fs::Metadata::len);
            let t = m
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {len} {t}", p.display())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Under valgrind: no leak, no invalid read or write, no use of uninitialised memory.
///
/// Runs when valgrind is installed; `VERSIONER_VALGRIND=1` makes it required (scripts/test-c.sh
/// sets it after installing valgrind), `VERSIONER_VALGRIND=0` skips it. A pass is remembered
/// for the sources it ran on (see [`source_fingerprint`]), so scripts/test-c.sh does not repeat
/// the run `cargo test --workspace` made just before.
#[test]
fn c_program_under_valgrind_is_clean() {
    let setting = std::env::var("VERSIONER_VALGRIND").unwrap_or_default();
    if setting == "0" {
        eprintln!("VERSIONER_VALGRIND=0: skipped");
        return;
    }
    if !have("valgrind") {
        assert!(
            setting != "1",
            "VERSIONER_VALGRIND=1 but valgrind is not installed"
        );
        eprintln!("valgrind not installed: skipped (scripts/test-c.sh installs and requires it)");
        return;
    }
    let supp = crate_dir().join("tests").join("valgrind.supp");
    let fingerprint = source_fingerprint(&supp);
    let stamp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("versioner-ffi-c")
        .join("valgrind.pass");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) {
        eprintln!("valgrind already passed for this library and test program");
        return;
    }
    let dir = scratch("valgrind");
    let exe = compile(&c_test_source(), &dir.join("test_versioner"), Link::Shared);
    let log = dir.join("valgrind.log");
    let started = Instant::now();
    let out = c_command("valgrind")
        .args([
            "--error-exitcode=1",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible",
        ])
        .arg(format!("--suppressions={}", supp.display()))
        .arg(format!("--log-file={}", log.display()))
        .arg(&exe)
        .arg(&dir)
        .output()
        .expect("run valgrind");
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n--- valgrind log\n{report}",
        show("C test under valgrind", &out)
    );
    assert!(
        report.contains("ERROR SUMMARY: 0 errors"),
        "valgrind reported errors:\n{report}"
    );
    assert!(
        report.contains("definitely lost: 0 bytes")
            || report.contains("All heap blocks were freed"),
        "{report}"
    );
    std::fs::write(&stamp, fingerprint).expect("write the valgrind stamp");
    eprintln!(
        "valgrind clean in {:.1}s: {}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// The committed header is exactly what cbindgen generates from the current source.
#[test]
fn header_is_up_to_date() {
    let fresh = PathBuf::from(env!("OUT_DIR")).join("versioner.h");
    let committed = crate_dir().join("include").join("versioner.h");
    let fresh = std::fs::read_to_string(&fresh).expect("generated header in OUT_DIR");
    let committed = std::fs::read_to_string(&committed).expect("versioner-ffi/include/versioner.h");
    assert!(
        fresh == committed,
        "versioner-ffi/include/versioner.h is out of date with the Rust source; regenerate it with \
         `VERSIONER_UPDATE_HEADER=1 cargo build -p versioner-ffi` and commit it"
    );
}

#[test]
fn header_compiles_as_cpp() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_string());
    if !have(&cxx) {
        eprintln!("no C++ compiler ({cxx}): skipped");
        return;
    }
    let dir = scratch("cpp");
    let src = dir.join("header.cpp");
    std::fs::write(
        &src,
        "#include \"versioner.h\"\nint main() { VersionerHandle *h = nullptr;\n\
         VersionerStatus s = versioner_open(nullptr, &h);\n\
         return versioner_close(h) == VERSIONER_STATUS_OK && s == VERSIONER_STATUS_OK ? 0 : 1; }\n",
    )
    .expect("write C++ source");
    let out = Command::new(&cxx)
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-I",
        ])
        .arg(crate_dir().join("include"))
        .arg(&src)
        .output()
        .expect("run the C++ compiler");
    assert!(out.status.success(), "{}", show("C++ compile", &out));
}

/// The functions the header declares.
fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(crate_dir().join("include").join("versioner.h"))
        .expect("read the header");
    let mut names: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('*') && !l.starts_with('/'))
        .filter_map(|l| {
            let start = l.find("versioner_")?;
            let rest = &l[start..];
            let end = rest.find('(')?;
            Some(rest[..end].to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn library_exports_exactly_the_header_functions() {
    let declared = header_functions();
    assert!(declared.len() > 30, "{declared:?}");
    if !have("nm") {
        eprintln!("nm not installed: skipped");
        return;
    }
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("libversioner.so"))
        .output()
        .expect("run nm");
    assert!(out.status.success(), "{}", show("nm", &out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut exported: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "T").then(|| name.to_string())
        })
        .filter(|n| n.starts_with("versioner_"))
        .collect();
    exported.sort();
    assert_eq!(exported, declared);
}

#[test]
fn c_test_calls_every_function() {
    let source = std::fs::read_to_string(c_test_source()).expect("read the C test");
    let missing: Vec<String> = header_functions()
        .into_iter()
        .filter(|f| !source.contains(&format!("{f}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "not exercised by the C test: {missing:?}"
    );
}

// ----- the example gate ------------------------------------------------------------------------

fn gate(exe: &Path, db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = c_command(exe)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("VERSIONER_API_URL")
        .output()
        .expect("run preflight_gate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn example_gate_exit_codes() {
    let dir = scratch("gate");
    let source = crate_dir().join("../examples/c/preflight_gate.c");
    let policy = crate_dir().join("../examples/c/versioner.toml");
    let policy = policy.to_str().expect("UTF-8 path");
    for (link, name) in [(Link::Shared, "gate"), (Link::Static, "gate_static")] {
        let exe = compile(&source, &dir.join(name), link);
        let db = dir.join(format!("{name}.db"));
        let target = ["--product", "api", "--version", "1.0.0"];

        // Production before staging: blocked, exit 5, the verdict printed.
        let (code, stdout, _) = gate(
            &exe,
            &db,
            &[
                &["--policy", policy, "--environment", "production"][..],
                &target,
            ]
            .concat(),
        );
        assert_eq!(code, 5, "{stdout}");
        assert!(stdout.contains("BLOCKED (FLOW_VIOLATION)"), "{stdout}");
        assert!(stdout.contains("Staging before production"), "{stdout}");
        assert!(stdout.contains("\"decision\":\"blocked\""), "{stdout}");

        // Staging is allowed and, with --record, recorded.
        let (code, stdout, stderr) = gate(
            &exe,
            &db,
            &[
                &[
                    "--environment",
                    "staging",
                    "--record",
                    "--deployed-by",
                    "dana",
                ][..],
                &target,
            ]
            .concat(),
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("ALLOWED"), "{stdout}");
        assert!(stdout.contains("\"status\":\"started\""), "{stdout}");

        // A second start of the same product in staging: the concurrency rule, still exit 5.
        let (code, stdout, _) = gate(
            &exe,
            &db,
            &[
                &["--environment", "staging", "--record", "--json"][..],
                &target,
            ]
            .concat(),
        );
        assert_eq!(code, 5, "{stdout}");
        assert!(stdout.starts_with('{'), "--json prints only JSON: {stdout}");

        // Bad input (a quote and a newline are escaped, then refused by validation): exit 4.
        let (code, _, stderr) = gate(
            &exe,
            &db,
            &[
                "--product",
                "a\"b\nc",
                "--version",
                "1",
                "--environment",
                "staging",
                "--at",
                "not-a-time",
            ],
        );
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("INVALID_INPUT"), "{stderr}");

        // Usage errors: exit 1.
        let (code, _, stderr) = gate(&exe, &db, &["--product", "api"]);
        assert_eq!(code, 1, "{stderr}");
    }
}

// ----- remote handles against `versioner serve` ------------------------------------------------

/// The `versioner` binary of this build, when it exists (cargo test --workspace builds it).
fn versioner_binary() -> Option<PathBuf> {
    let exe = profile_dir().join(format!("versioner{}", std::env::consts::EXE_SUFFIX));
    exe.is_file().then_some(exe)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Creates an admin key and starts `versioner serve` on a free port.
fn start_server(bin: &Path, dir: &Path) -> (Server, String, String) {
    let db = dir.join("server.db");
    let out = Command::new(bin)
        .arg("--db")
        .arg(&db)
        .args(["keys", "create", "--name", "c-test", "--role", "admin"])
        .output()
        .expect("run versioner keys create");
    assert!(
        out.status.success(),
        "{}",
        show("versioner keys create", &out)
    );
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("the key on the last line")
        .trim()
        .to_string();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(bin)
        .args(["serve", "--db"])
        .arg(&db)
        .args(["--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start versioner serve");
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&listen).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            let mut err = String::new();
            if let Some(stderr) = server.0.stderr.take() {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    err.push_str(&line);
                    err.push('\n');
                }
            }
            panic!("versioner serve exited with {status}:\n{err}");
        }
        assert!(
            Instant::now() < deadline,
            "versioner serve did not listen on {listen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, format!("http://{listen}"), key)
}

#[test]
fn c_program_against_versioner_serve() {
    let Some(bin) = versioner_binary() else {
        eprintln!(
            "no {} (build it with `cargo build -p versioner-cli`): remote part skipped",
            profile_dir().join("versioner").display()
        );
        return;
    };
    let dir = scratch("remote");
    let (_server, url, key) = start_server(&bin, &dir);
    let exe = compile(&c_test_source(), &dir.join("test_versioner"), Link::Shared);
    let out = c_command(&exe)
        .arg(&dir)
        .arg(&url)
        .arg(&key)
        .output()
        .expect("run the C test");
    assert!(out.status.success(), "{}", show("C test (remote)", &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("remote tests ran"), "{stdout}");
}
