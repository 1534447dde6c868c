//! The TCP listener: length-prefixed messages, zone transfers, and limits so slow or
//! hostile clients cannot starve legitimate queries (issue #13: 600 clients sending a 4-byte
//! garbage frame every 8 s held every slot and real queries got no answer):
//!
//! - at most [`TCP_CONNECTIONS`] connections; when all are taken, a new one evicts the
//!   oldest connection that waits idle for a message (else it waits for a slot);
//! - at most [`PER_SOURCE`] from one address; more are closed as soon as they are accepted;
//! - a frame that does not parse as a query closes the connection (nothing to answer, and
//!   answering nothing while keeping the connection would let garbage hold the slot);
//! - [`IDLE`] between messages, and once a message starts it must arrive whole within
//!   [`FRAME`]: only a parsed, answered query restarts the idle timer.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::metrics::Counters;
use super::respond;
use super::shared::Shared;
use super::xfr;

/// A connection idle this long is closed; so is one whose peer stops reading for this long
/// (a stalled transfer must not hold one of the [`TCP_CONNECTIONS`] slots for ever).
const IDLE: Duration = Duration::from_secs(10);
/// Once a message's first byte arrived, the rest (length and body) must arrive within this.
const FRAME: Duration = Duration::from_secs(3);
/// Concurrent TCP connections per listen address; more wait in the accept backlog.
pub const TCP_CONNECTIONS: usize = 256;
/// Concurrent TCP connections from one source address.
const PER_SOURCE: usize = 16;

/// Open connections per source address.
#[derive(Default)]
struct Sources(Mutex<HashMap<IpAddr, usize>>);

/// One connection's claim on its source's count, released on drop.
struct SourceSlot(Arc<Sources>, IpAddr);

impl Sources {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= PER_SOURCE {
            return None;
        }
        *n += 1;
        Some(SourceSlot(self.clone(), ip))
    }
}

impl Drop for SourceSlot {
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

/// Open connections by age, each with its cancel token and whether it waits idle for a
/// message. When every slot is taken, a new connection evicts the oldest idle one: slow
/// clients spread over many addresses then churn among themselves, while a legitimate client
/// (which sends its query at once) is served instead of waiting behind them in the backlog.
#[derive(Default)]
struct Open {
    next: AtomicU64,
    conns: Mutex<BTreeMap<u64, (CancellationToken, Arc<AtomicBool>)>>,
}

impl Open {
    fn add(&self, idle: Arc<AtomicBool>) -> (u64, CancellationToken) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        let mut m = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(id, (token.clone(), idle));
        (id, token)
    }

    fn remove(&self, id: u64) {
        let mut m = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(&id);
    }

    /// Cancels the oldest connection waiting idle; `false` when none is.
    fn evict_oldest_idle(&self) -> bool {
        let mut m = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = m
            .iter()
            .find(|(_, (_, idle))| idle.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        match oldest.and_then(|id| m.remove(&id)) {
            Some((token, _)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Accepts connections until shutdown.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(TCP_CONNECTIONS));
    let sources = Arc::new(Sources::default());
    let open = Arc::new(Open::default());
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "dns tcp accept error");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Some(source) = sources.take(peer.ip()) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(%peer, refused, "dns tcp: per-source connection limit reached");
            }
            continue;
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Full: make room by ending the oldest idle connection, else wait for one.
                open.evict_oldest_idle();
                let Ok(p) = slots.clone().acquire_owned().await else {
                    return;
                };
                p
            }
        };
        let idle = Arc::new(AtomicBool::new(true));
        let (id, evicted) = open.add(idle.clone());
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        let open = open.clone();
        tokio::spawn(
            async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = evicted.cancelled() => {}
                    r = connection(stream, peer, &shared, &idle) => if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "dns tcp connection ended");
                    },
                }
                open.remove(id);
                drop((permit, source));
            }
            .instrument(tracing::info_span!("dns_tcp", %peer)),
        );
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::TimedOut)
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: &Shared,
    idle: &AtomicBool,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        // Wait up to IDLE for a message to start, then up to FRAME for all of it.
        idle.store(true, Ordering::Relaxed);
        let first = match tokio::time::timeout(IDLE, stream.read_u8()).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        idle.store(false, Ordering::Relaxed);
        let frame = async {
            let second = stream.read_u8().await?;
            let len = usize::from(u16::from_be_bytes([first, second]));
            buf.resize(len, 0);
            stream.read_exact(&mut buf).await.map(|_| ())
        };
        tokio::time::timeout(FRAME, frame)
            .await
            .map_err(|_| timed_out())??;
        let Some(replies) = answer(shared, &buf, peer, &mut out).await else {
            // Not a query we can answer: close rather than wait for more garbage.
            return Ok(());
        };
        for msg in replies {
            let Ok(n) = u16::try_from(msg.len()) else {
                continue;
            };
            let mut rcodes = [0u64; 16];
            Counters::response(&mut rcodes, &msg);
            shared.counters.add_responses(&rcodes);
            let mut framed = Vec::with_capacity(msg.len() + 2);
            framed.extend_from_slice(&n.to_be_bytes());
            framed.extend_from_slice(&msg);
            tokio::time::timeout(IDLE, stream.write_all(&framed))
                .await
                .map_err(|_| timed_out())??;
        }
    }
}

/// The replies to one TCP message (several for a transfer); `None` for garbage.
async fn answer(
    shared: &Shared,
    raw: &[u8],
    peer: SocketAddr,
    out: &mut Vec<u8>,
) -> Option<Vec<Vec<u8>>> {
    if shared.is_withdrawn() {
        return None;
    }
    let snap = shared.snap.load_full();
    if respond::fast(&snap, raw, &shared.counters, out) {
        return Some(vec![out.clone()]);
    }
    if super::conform::formerr_for_two_opts(raw, out) {
        return Some(vec![out.clone()]);
    }
    let req = respond::parse(raw, peer, Protocol::Tcp, &shared.counters)?;
    if xfr::is_transfer(&req) {
        let now = crate::model::Timestamp::now().0 / 1000;
        return Some(xfr::serve(
            &snap,
            &req,
            peer.ip(),
            &shared.xfr,
            &shared.counters,
            now,
        ));
    }
    match respond::answer(&snap, &req, &shared.counters).await {
        respond::Outcome::Reply(b) => Some(vec![b]),
        respond::Outcome::Dropped => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::DnsServer;
    use crate::fixture;
    use hickory_server::proto::op::{Message, MessageType, OpCode, Query};
    use hickory_server::proto::rr::{Name, RecordType};
    use std::path::Path;

    /// A peer that asks for a transfer and then stops reading is dropped after [`IDLE`], so
    /// it cannot hold a connection slot for ever.
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone");
        let server =
            DnsServer::bind(&fixture::dns_config(&zone, dir.path(), vec![])).expect("bind");
        let shared = server.handle().shared();
        let mut q = Message::new(7, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(
            Name::from_ascii("boss.example.").expect("name"),
            RecordType::AXFR,
        ));
        let q = q.to_vec().expect("encode");
        // A pipe far smaller than the zone: the server's writes stall once it is full.
        let (mut client, server_side) = tokio::io::duplex(64);
        client
            .write_all(&(q.len() as u16).to_be_bytes())
            .await
            .expect("write");
        client.write_all(&q).await.expect("write");
        let peer = "127.0.0.1:5300".parse().expect("addr");
        let ended = tokio::time::timeout(
            IDLE * 6,
            connection(server_side, peer, &shared, &AtomicBool::new(true)),
        )
        .await;
        let kind = ended.map(|r| r.map_err(|e| e.kind()));
        assert_eq!(kind, Ok(Err(std::io::ErrorKind::TimedOut)));
        drop(client);
    }

    /// Issue #13: a garbage frame closes the connection at once (it used to be kept open,
    /// and every garbage frame restarted the idle timer).
    #[tokio::test(start_paused = true)]
    async fn garbage_closes_and_a_slow_frame_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone");
        let server =
            DnsServer::bind(&fixture::dns_config(&zone, dir.path(), vec![])).expect("bind");
        let shared = server.handle().shared();
        let peer = "127.0.0.1:5300".parse().expect("addr");
        let (mut client, server_side) = tokio::io::duplex(1024);
        client.write_all(&[0, 2, 0xde, 0xad]).await.expect("write");
        let start = tokio::time::Instant::now();
        let r = connection(server_side, peer, &shared, &AtomicBool::new(true)).await;
        assert!(r.is_ok(), "{r:?}");
        assert!(start.elapsed() < FRAME, "closed at once");
        // Half a length prefix, then nothing: dropped after FRAME, not IDLE.
        let (mut client, server_side) = tokio::io::duplex(1024);
        client.write_all(&[0]).await.expect("write");
        let start = tokio::time::Instant::now();
        let r = connection(server_side, peer, &shared, &AtomicBool::new(true)).await;
        assert_eq!(r.map_err(|e| e.kind()), Err(std::io::ErrorKind::TimedOut));
        assert!(start.elapsed() < IDLE);
    }

    #[test]
    fn a_full_listener_evicts_the_oldest_idle_connection() {
        let open = Open::default();
        let busy = Arc::new(AtomicBool::new(false));
        let (_, t0) = open.add(busy.clone());
        let (_, t1) = open.add(Arc::new(AtomicBool::new(true)));
        let (_, t2) = open.add(Arc::new(AtomicBool::new(true)));
        assert!(open.evict_oldest_idle());
        assert!(
            !t0.is_cancelled(),
            "a connection mid-query is never evicted"
        );
        assert!(t1.is_cancelled());
        assert!(!t2.is_cancelled());
        assert!(open.evict_oldest_idle());
        assert!(!open.evict_oldest_idle(), "nothing idle left");
    }
}
