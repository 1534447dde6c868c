//! The TCP listener: length-prefixed messages, zone transfers, an idle timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::respond;
use super::server::Shared;
use super::xfr;

/// A connection idle this long is closed.
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

async fn connection(
    mut stream: TcpStream,
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
            stream.write_all(&framed).await?;
        }
    }
}

/// The replies to one TCP message (several for a transfer, none for garbage).
async fn answer(shared: &Shared, raw: &[u8], peer: SocketAddr, out: &mut Vec<u8>) -> Vec<Vec<u8>> {
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
