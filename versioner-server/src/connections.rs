//! The accept loop: how connections are taken, bounded and closed.
//!
//! [`serve_with`] accepts TCP connections (optionally TLS, see [`Tls`]) and serves each with
//! hyper (HTTP/1.1 and HTTP/2), under [`ConnectionOptions`]:
//!
//! - **Connection limit** (`--max-connections`, default 1024): a connection is accepted only
//!   while fewer are open; beyond that, new ones wait in the kernel's accept queue until one
//!   closes (they are queued, not dropped).
//! - **Header-read timeout** (`--header-read-timeout`, default 10 s): a client must send a whole
//!   request head within it (HTTP/1.1, hyper's timer), and finish the TLS handshake within it;
//!   a client trickling headers is disconnected.
//! - **Idle timeout** (`--idle-timeout`, default 60 s): a connection on which nothing has been
//!   read or written for that long, with no request in flight, is closed — a keep-alive
//!   connection left open, and a client that connects and sends nothing.
//!
//! Each request carries the peer's address as [`ConnectInfo`] (for the per-address rate
//! limit). When the shutdown future resolves the loop stops accepting and every open
//! connection is asked to finish: requests in flight complete, then the connections close.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::tls::Tls;
use crate::{AppState, router};

/// How connections are accepted, bounded and closed (see the module documentation).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionOptions {
    /// How long a client has to send a request head (and to finish the TLS handshake).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with nothing read or written and no request in
    /// flight.
    pub idle_timeout: Duration,
    /// How many connections may be open at once; more wait to be accepted.
    pub max_connections: usize,
    /// TLS, if the server speaks HTTPS.
    pub tls: Option<Tls>,
}

/// The default header-read timeout: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default idle timeout: 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default connection limit: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Default for ConnectionOptions {
    fn default() -> ConnectionOptions {
        ConnectionOptions {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tls: None,
        }
    }
}

impl ConnectionOptions {
    /// Sets the header-read timeout.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> ConnectionOptions {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets the idle timeout.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> ConnectionOptions {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the connection limit (at least 1).
    #[must_use]
    pub fn max_connections(mut self, limit: usize) -> ConnectionOptions {
        self.max_connections = limit.max(1);
        self
    }

    /// Serves HTTPS with `tls`.
    #[must_use]
    pub fn tls(mut self, tls: Tls) -> ConnectionOptions {
        self.tls = Some(tls);
        self
    }
}

/// Serves the application on `listener` under `options` until `shutdown` resolves; requests
/// in flight finish first.
///
/// # Errors
/// None in practice: a failed `accept` (out of file descriptors, a connection reset before it
/// was accepted) is logged and the loop goes on.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    options: ConnectionOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let stream = Tracked {
            inner: stream,
            activity: Arc::clone(&activity),
        };
        let connection = Connection {
            app: app.clone(),
            peer,
            activity,
            builder: builder.clone(),
            graceful: graceful.watcher(),
            options: options.clone(),
        };
        tokio::spawn(async move {
            connection.run(stream).await;
            drop(slot);
        });
    }
    drop(listener);
    // Long-lived answers (the dashboard's event stream) end now, so open connections can.
    state.begin_shutdown();
    tracing::debug!("no longer accepting; waiting for open connections");
    graceful.shutdown().await;
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    builder: auto::Builder<TokioExecutor>,
    graceful: hyper_util::server::graceful::Watcher,
    options: ConnectionOptions,
}

impl Connection {
    async fn run(self, stream: Tracked) {
        let limit = self.options.header_read_timeout;
        match self.options.tls.clone() {
            None => self.serve(stream).await,
            Some(tls) => match tokio::time::timeout(limit, tls.acceptor().accept(stream)).await {
                Ok(Ok(tls_stream)) => self.serve(tls_stream).await,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                }
            },
        }
    }

    async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            app,
            peer,
            activity,
            builder,
            graceful,
            options,
        } = self;
        let in_flight = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let busy = InFlight::start(Arc::clone(&in_flight));
            let app = app.clone();
            async move {
                let resp = app.oneshot(req.map(axum::body::Body::new)).await;
                drop(busy);
                resp
            }
        });
        let conn = builder.serve_connection(TokioIo::new(io), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::select! {
            result = conn => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            }
            () = activity.idle_for(options.idle_timeout) => {
                tracing::debug!(%peer, "closing an idle connection");
            }
        }
    }
}

/// When a connection last read or wrote, and how many of its requests are being answered.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once nothing has been read or written for `limit` with no request in flight.
    async fn idle_for(&self, limit: Duration) {
        loop {
            tokio::time::sleep_until(self.last() + limit).await;
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                // A slow request is not idleness: count from now.
                self.touch();
            } else if self.last() + limit <= Instant::now() {
                return;
            }
        }
    }
}

/// A request being answered; counted while it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream that records when it last read or wrote.
struct Tracked {
    inner: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
