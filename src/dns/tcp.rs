//! The TCP listener: length-prefixed messages, zone transfers, idle and write timeouts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::respond;
use super::shared::Shared;
use super::xfr;

/// A connection idle this long is closed; so is one whose peer stops reading for this long
/// (a stalled transfer must not hold one of the [`MAX_CONNECTIONS`] slots for ever).
const IDLE: Duration = Duration::from_secs(10);
/// Concurrent TCP connections; more wait in the accept backlog.
const MAX_CONNECTIONS: usize = 512;

/// Accepts connections until shutdown.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "dns tcp accept error");
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(
            async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    r = connection(stream, peer, &shared) => if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "dns tcp connection ended");
                    },
                }
                drop(permit);
            }
            .instrument(tracing::info_span!("dns_tcp", %peer)),
        );
    }
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        let len = match tokio::time::timeout(IDLE, stream.read_u16()).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => usize::from(r?),
        };
        buf.resize(len, 0);
        tokio::time::timeout(IDLE, stream.read_exact(&mut buf))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        for msg in answer(shared, &buf, peer, &mut out).await {
            let Ok(n) = u16::try_from(msg.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(msg.len() + 2);
            framed.extend_from_slice(&n.to_be_bytes());
            framed.extend_from_slice(&msg);
            tokio::time::timeout(IDLE, stream.write_all(&framed))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        }
    }
}

/// The replies to one TCP message (several for a transfer, none for garbage).
async fn answer(shared: &Shared, raw: &[u8], peer: SocketAddr, out: &mut Vec<u8>) -> Vec<Vec<u8>> {
    if shared.is_withdrawn() {
        return vec![];
    }
    let snap = shared.snap.load_full();
    if respond::fast(&snap, raw, &shared.counters, out) {
        return vec![out.clone()];
    }
    let Some(req) = respond::parse(raw, peer, Protocol::Tcp, &shared.counters) else {
        return vec![];
    };
    if xfr::is_transfer(&req) {
        let now = crate::model::Timestamp::now().0 / 1000;
        return xfr::serve(&snap, &req, peer.ip(), &shared.xfr, &shared.counters, now);
    }
    match respond::answer(&snap, &req, &shared.counters).await {
        respond::Outcome::Reply(b) => vec![b],
        respond::Outcome::Dropped => vec![],
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
        let ended = tokio::time::timeout(IDLE * 6, connection(server_side, peer, &shared)).await;
        let kind = ended.map(|r| r.map_err(|e| e.kind()));
        assert_eq!(kind, Ok(Err(std::io::ErrorKind::TimedOut)));
        drop(client);
    }
}
