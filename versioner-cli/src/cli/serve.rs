//! `versioner serve`: opens the database (`--db` SQLite file, or `--database-url` PostgreSQL
//! with feature `postgres`), which also holds the API keys, binds, prints
//! `listening on http://ADDR` (`https://` with `--tls-cert`; the first line of stdout;
//! `--listen 127.0.0.1:0` picks a free port) and serves until SIGINT or SIGTERM, under the
//! connection limits, timeouts and rate limits of its flags.

use versioner_core::input::Location;

use super::Context;
use super::args::ServeArgs;
use crate::exit::Exit;
use versioner_server::{
    self as server, AppState, AuthMode, ConnectionOptions, RateLimit, RateLimits, ServerOptions,
    Tls,
};

fn init_tracing(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialisation (tests running several servers in one process) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs the server until a shutdown signal.
pub fn run(ctx: &mut Context<'_, '_>, a: &ServeArgs) -> Exit {
    // The Slack app's configuration is read first: a mistake in it stops before anything opens.
    let slack = match &a.slack_config {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| {
                format!(
                    "cannot read the Slack configuration {}: {e}",
                    path.display()
                )
            })
            .and_then(|text| server::slack::SlackConfig::from_toml(&text, |v| ctx.sources.var(v)))
        {
            Ok(c) => Some(c),
            Err(message) => return ctx.usage(&super::Usage(message)),
        },
        None => None,
    };
    let db = match ctx.database("serve") {
        Ok(db) => db,
        Err(u) => return ctx.usage(&u),
    };
    init_tracing(ctx.console.verbose);
    let vr = match super::keys::open_with_keys(&db) {
        Ok(v) => v,
        Err(e) => return ctx.fail(&e),
    };
    let auth = if a.no_auth {
        AuthMode::Open
    } else {
        AuthMode::Keys
    };
    match (auth, vr.has_active_api_keys()) {
        (AuthMode::Open, _) => ctx.console.err(
            "⚠ --no-auth: every request is accepted as an admin; use on a trusted network only",
        ),
        (AuthMode::Keys, Ok(false)) => ctx.console.err(&format!(
            "⚠ no API key exists yet: every request is refused (401) until one is created with \
             `versioner keys create {} --name NAME --role admin`",
            match &db {
                Location::Sqlite(p) => format!("--db {}", p.display()),
                Location::Postgres(_) => "--database-url URL".into(),
                // Only this process sees an in-memory database: keys go with a file.
                _ => "--db PATH".into(),
            }
        )),
        (AuthMode::Keys, Ok(true)) => {}
        (AuthMode::Keys, Err(e)) => return ctx.fail(&e),
    }
    let mut connections = ConnectionOptions::default()
        .header_read_timeout(a.header_read_timeout)
        .idle_timeout(a.idle_timeout)
        .max_connections(a.max_connections);
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) {
        match Tls::from_pem_files(cert, key) {
            Ok(tls) => connections = connections.tls(tls),
            Err(e) => return ctx.usage(&super::Usage(e.to_string())),
        }
    }
    let scheme = if connections.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let limit = |per_minute: Option<std::num::NonZeroU32>| {
        per_minute.map(|n| {
            let l = RateLimit::per_minute(n);
            a.rate_limit_burst.map_or(l, |b| l.burst(b))
        })
    };
    let options = ServerOptions::default()
        .auth(auth)
        .body_limit(a.max_body_bytes)
        .request_timeout(a.request_timeout)
        .allowed_hosts(a.allowed_hosts.clone())
        .secure_cookies(connections.tls.is_some())
        .rate_limits(RateLimits {
            per_key: limit(a.rate_limit_per_key),
            per_ip: limit(a.rate_limit_per_ip),
        });
    let public_url = a
        .public_url
        .clone()
        .or_else(|| ctx.sources.var("VERSIONER_PUBLIC_URL"));
    let mut options = options.public_url(public_url.clone());
    if let Some(c) = slack {
        options = options.slack(c);
    }
    let state = AppState::new(vr, options);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            ctx.console
                .err(&format!("error: cannot start the runtime: {e}"));
            return Exit::Failure;
        }
    };
    // The last handle on the core is dropped here, outside the runtime: a store may block
    // when it closes (the PostgreSQL client runs its own runtime).
    let keep = state.clone();
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", a.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        ctx.console.out(&format!("listening on {scheme}://{addr}"));
        tracing::info!(%addr, db = %db, ?auth, scheme, "serving");
        // Notifications: delivered from the outbox by a worker on this runtime.
        let _worker = (!a.no_notify).then(|| {
            let mut o = versioner_core::DeliveryOptions::new();
            o.attempts = a.notify_attempts;
            o.backoff = a.notify_backoff;
            o.timeout = a.notify_timeout;
            o.public_url = public_url.clone();
            server::delivery::spawn_for(&state, o, server::delivery::DEFAULT_POLL)
        });
        server::serve_with(listener, state, connections, server::shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    });
    drop(runtime);
    drop(keep);
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            Exit::Success
        }
        Err(message) => {
            ctx.console.err(&format!("error: {message}"));
            Exit::Failure
        }
    }
}
