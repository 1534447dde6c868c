//! Serving the admin router with limits, so idle or slow clients cannot take the node's file
//! descriptors (issue #13: 1,100 unfinished requests exhausted them and the node's own
//! checks failed with `Too many open files`).
//!
//! - at most [`Limits::connections`] connections at once, [`Limits::per_peer`] per client
//!   address; a connection over either limit is closed as soon as it is accepted;
//! - request headers must arrive within [`Limits::header`] (hyper's header read timeout,
//!   which also ends a keep-alive connection that sends nothing);
//! - a request (body included) must be answered within [`Limits::request`], else 408;
//! - bodies over [`Limits::body`] bytes are refused with 413.

use super::ApiError;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The admin listener's limits (the defaults are what `serve` uses).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once.
    pub connections: usize,
    /// Connections open at once from one client address.
    pub per_peer: usize,
    /// Time to send a request's headers (also the idle limit between keep-alive requests).
    pub header: Duration,
    /// Time to receive a request's body and answer it (408 after).
    pub request: Duration,
    /// Largest request body in bytes (413 over).
    pub body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 256,
            per_peer: 32,
            header: Duration::from_secs(5),
            request: Duration::from_secs(30),
            body: 1 << 20,
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct Peers(Mutex<HashMap<IpAddr, usize>>);

impl Peers {
    /// Takes a slot for `ip` unless it already holds `max`.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<PeerSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot(self.clone(), ip))
    }
}

/// One connection's claim on its peer's count, released on drop.
struct PeerSlot(Arc<Peers>, IpAddr);

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut m = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

/// Accept backlog of the admin listener (the kernel caps it at `net.core.somaxconn`). Over-limit
/// connections are closed at once, and a hostile client reopens them at once; with the usual
/// 1,024 the accept queue overflowed under 1,100 such clients and legitimate SYNs were
/// dropped (`/ready` timed out, measured in `deploy/bench/idle-attack.sh`).
const BACKLOG: i32 = 4096;

/// Binds the admin listener with `BACKLOG`.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    TcpListener::from_std(s.into())
}

/// The router with the body limit and the request timeout applied.
pub(super) fn limited(router: Router, limits: Limits) -> Router {
    let request = limits.request;
    router
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                match tokio::time::timeout(request, next.run(req)).await {
                    Ok(r) => r,
                    Err(_) => ApiError::Timeout(request).into_response(),
                }
            },
        ))
}

/// Serve `router` on `listener` under `limits` until `shutdown`; then let open requests
/// finish (connections are told to close after their current request).
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = limited(router, limits);
    let slots = Arc::new(Semaphore::new(limits.connections));
    let peers = Arc::new(Peers::default());
    let tracker = TaskTracker::new();
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(%peer, refused, "admin connection limit reached; closing new connections");
            }
            continue;
        };
        let Some(peer_slot) = peers.take(peer.ip(), limits.per_peer) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(%peer, refused, "admin per-client connection limit reached");
            }
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "admin connection ended");
                },
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.request, conn).await;
                }
            }
            drop((slot, peer_slot));
        });
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(limits: Limits) -> (std::net::SocketAddr, CancellationToken) {
        let router = Router::new()
            .route("/ready", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "late"
                }),
            )
            .route(
                "/echo",
                post(|b: axum::body::Bytes| async move { b.len().to_string() }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, router, limits, stop.clone()));
        (addr, stop)
    }

    async fn get_status(stream: &mut TcpStream, req: &str) -> String {
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap_or(0);
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    }

    /// The attack from issue #13 in miniature: idle connections are closed after the header
    /// timeout, over-limit ones at once, and a fresh client is answered.
    #[tokio::test(start_paused = true)]
    async fn idle_and_excess_connections_are_closed() {
        let limits = Limits {
            connections: 8,
            per_peer: 4,
            ..Limits::default()
        };
        let (addr, _stop) = start(limits).await;
        let mut idle = Vec::new();
        for _ in 0..6 {
            idle.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // The fifth and sixth exceed the per-peer limit: closed at once (EOF).
        let mut buf = [0u8; 16];
        for s in &mut idle[4..] {
            assert_eq!(s.read(&mut buf).await.expect("read"), 0);
        }
        // Half a request line, then nothing: closed once the header timeout passes.
        idle[0].write_all(b"GET /ready HT").await.expect("write");
        for s in &mut idle[..4] {
            let n = tokio::time::timeout(limits.header * 2, s.read(&mut buf)).await;
            assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "still open: {n:?}");
        }
        let mut fresh = TcpStream::connect(addr).await.expect("connect");
        let line = get_status(&mut fresh, "GET /ready HTTP/1.1\r\nhost: x\r\n\r\n").await;
        assert_eq!(line, "HTTP/1.1 200 OK");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_requests_get_408_and_large_bodies_413() {
        let (addr, _stop) = start(Limits::default()).await;
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let line = get_status(&mut s, "GET /slow HTTP/1.1\r\nhost: x\r\n\r\n").await;
        assert_eq!(line, "HTTP/1.1 408 Request Timeout");
        let s = TcpStream::connect(addr).await.expect("connect");
        let big = 2 << 20;
        let mut req =
            format!("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: {big}\r\n\r\n").into_bytes();
        req.resize(req.len() + big, b'x');
        let (mut rd, mut wr) = s.into_split();
        tokio::spawn(async move { wr.write_all(&req).await });
        let mut buf = vec![0u8; 4096];
        let n = rd.read(&mut buf).await.expect("read");
        let line = String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        assert_eq!(line, "HTTP/1.1 413 Payload Too Large");
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req = "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(get_status(&mut s, req).await, "HTTP/1.1 200 OK");
    }
}
