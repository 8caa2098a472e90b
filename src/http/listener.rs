//! Serving HTTP/1.1 on one listener with bounds a slow or idle client cannot get around: the
//! gateway's surface and both MCP servers all serve through [`serve`].
//!
//! - **Header-read timeout**: a request head must arrive in full within
//!   [`ListenerLimits::header_timeout`] of the moment the server starts waiting for it (when the
//!   connection opens, and again after each response on a kept-alive connection); hyper closes a
//!   connection that dribbles its head or sends nothing.
//! - **Idle timeout**: a connection on which no byte moved either way for
//!   [`ListenerLimits::idle_timeout`] is closed, whatever it is doing (a stalled request body, a
//!   client that stopped reading). Long-lived MCP streams stay alive through their keep-alive
//!   events.
//! - **Connection cap**: at most [`ListenerLimits::max_connections`] open at once, and never
//!   more than the open-file limit leaves room for. A new connection at the cap displaces the
//!   connection that has waited longest without a request in flight, so a flood of connections
//!   that never send a request cannot lock out a health probe; only when every connection has a
//!   request in flight is the newcomer closed.
//!
//! Each request carries the peer's address as axum's [`ConnectInfo`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Descriptors kept free for everything else the process opens (the database, outgoing
/// connections, log files) when the connection cap is derived from the open-file limit.
const RESERVED_FDS: u64 = 256;
/// The smallest connection cap the open-file limit may lower a listener to.
const MIN_CONNECTIONS: usize = 16;
/// How often each connection checks its idle time.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// How often an exhausted descriptor table is reported.
const ACCEPT_ERROR_REPORT_EVERY: Duration = Duration::from_secs(60);

pub use crate::config::ListenerLimits;

/// The connection cap of `limits` after the open-file limit: at most the soft limit less
/// [`RESERVED_FDS`], so accepting never fails for want of descriptors.
#[must_use]
pub fn effective_max_connections(limits: &ListenerLimits) -> usize {
    let room = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(usize::MAX, |soft| {
            usize::try_from(soft.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX)
        });
    limits.max_connections.min(room.max(MIN_CONNECTIONS)).max(1)
}

/// Milliseconds since the listener started, shared by its connections.
#[derive(Debug, Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// What the listener knows of one open connection.
#[derive(Debug)]
struct Conn {
    /// Requests whose response has not been sent in full.
    in_flight: AtomicUsize,
    /// When the last request finished (or the connection opened), in [`Clock`] milliseconds.
    idle_since: AtomicU64,
    /// When a byte last moved either way.
    last_io: AtomicU64,
    /// Closes the connection when cancelled.
    close: CancellationToken,
}

/// The open connections of one listener.
#[derive(Debug)]
struct Table {
    clock: Clock,
    next_id: AtomicU64,
    conns: parking_lot::Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Table {
    /// Admits a new connection, displacing the longest-idle one when `cap` are open; `None`
    /// when every open connection has a request in flight.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<Conn>)> {
        let now = self.clock.now();
        let mut conns = self.conns.lock();
        if conns.len() >= cap {
            let idlest = conns
                .iter()
                .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.idle_since.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(displaced) = conns.remove(&idlest) {
                displaced.close.cancel();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            last_io: AtomicU64::new(now),
            close: CancellationToken::new(),
        });
        conns.insert(id, Arc::clone(&conn));
        Some((id, conn))
    }

    fn remove(&self, id: u64) {
        self.conns.lock().remove(&id);
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` fires; then stops accepting,
/// lets the requests in flight finish, and returns once every connection has closed.
///
/// # Errors
/// Never fails once listening; accept errors are logged and retried.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    limits: ListenerLimits,
) -> io::Result<()> {
    let cap = effective_max_connections(&limits);
    if cap < limits.max_connections {
        tracing::info!(
            configured = limits.max_connections,
            cap,
            "the connection limit is lowered to stay below the open-file limit"
        );
    }
    let table = Arc::new(Table {
        clock: Clock(Instant::now()),
        next_id: AtomicU64::new(0),
        conns: parking_lot::Mutex::new(HashMap::new()),
    });
    let tasks = tokio_util::task::TaskTracker::new();
    let mut last_report: Option<Instant> = None;
    let mut displaced_report: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                if last_report.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_REPORT_EVERY) {
                    tracing::warn!(error = %e, "cannot accept connections; retrying");
                    last_report = Some(Instant::now());
                }
                // Out of descriptors: give the connections a moment to close.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let full = table.conns.lock().len() >= cap;
        let Some((id, conn)) = table.admit(cap) else {
            tracing::debug!(%peer, "refused a connection: every connection has a request in flight");
            drop(stream);
            continue;
        };
        if full && displaced_report.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_REPORT_EVERY) {
            tracing::warn!(
                cap,
                "the connection limit is reached; closing the connections idle longest"
            );
            displaced_report = Some(Instant::now());
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let table = Arc::clone(&table);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            connection(stream, peer, app, &table, &conn, shutdown, limits).await;
            table.remove(id);
        });
    }
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// Serves one connection until it ends, idles out, is displaced, or shutdown has let its
/// requests finish.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    table: &Table,
    conn: &Arc<Conn>,
    shutdown: CancellationToken,
    limits: ListenerLimits,
) {
    let clock = table.clock;
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: Arc::clone(conn),
        clock,
    });
    let tracked = Arc::clone(conn);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let guard = InFlight::begin(Arc::clone(&tracked), clock);
        let app = app.clone();
        async move {
            let response = app
                .oneshot(request.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|body| Tracked {
                body,
                _guard: guard,
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let served = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(served);
    let mut draining = false;
    let mut check = tokio::time::interval(IDLE_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                served.as_mut().graceful_shutdown();
                draining = true;
            }
            () = conn.close.cancelled() => {
                tracing::debug!(%peer, "connection displaced by a newer one at the connection limit");
                return;
            }
            _ = check.tick() => {
                let quiet = clock.now().saturating_sub(conn.last_io.load(Ordering::Acquire));
                if quiet >= idle_ms {
                    tracing::debug!(%peer, "closing a connection idle for too long");
                    return;
                }
            }
        }
    }
}

/// Counts a request in flight on its connection until its response body is dropped.
#[derive(Debug)]
struct InFlight {
    conn: Arc<Conn>,
    clock: Clock,
}

impl InFlight {
    fn begin(conn: Arc<Conn>, clock: Clock) -> Self {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        Self { conn, clock }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.conn.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.conn
                .idle_since
                .store(self.clock.now(), Ordering::Release);
        }
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, noting when bytes move.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
    clock: Clock,
}

impl Watched {
    fn moved(&self) {
        self.conn.last_io.store(self.clock.now(), Ordering::Release);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(limits: ListenerLimits) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok\n" }))
            .route(
                "/peer",
                axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                    peer.ip().to_string()
                }),
            );
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, app, shutdown.clone(), limits));
        (addr, shutdown)
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// Whether the server closed `s` (reading gives end of file or an error).
    async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
        let mut buf = [0u8; 512];
        matches!(
            tokio::time::timeout(limit, s.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test]
    async fn a_slow_head_is_dropped_and_peers_are_known() {
        let limits = ListenerLimits {
            header_timeout: Duration::from_millis(300),
            ..ListenerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nhost:")
            .await
            .unwrap();
        assert!(closed_within(&mut slow, Duration::from_secs(3)).await);
        assert!(get(addr, "/peer").await.ends_with("127.0.0.1"));
    }

    #[tokio::test]
    async fn a_silent_connection_is_dropped_when_idle() {
        let limits = ListenerLimits {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_millis(500),
            ..ListenerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(4)).await);
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_makes_room() {
        let limits = ListenerLimits {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4,
        };
        let (addr, _stop) = start(limits).await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(TcpStream::connect(addr).await.unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A fifth connection is served; the oldest idle one was closed for it.
        assert!(get(addr, "/healthz").await.contains("200 OK"));
        assert!(closed_within(&mut idle[0], Duration::from_secs(2)).await);
    }
}
