//! The UDP listener: one blocking OS thread per SO_REUSEPORT socket, fast path first.
//!
//! Blocking `recv_from`/`send_to` on a dedicated thread costs two system calls per query and
//! nothing else; the same loop on tokio's reactor measured about half the throughput here. The
//! rare query the fast path declines is answered by hickory's Catalog on the tokio runtime
//! (`Handle::block_on`), so UDP answers never wait behind TCP transfers or NOTIFYs.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::xfer::Protocol;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use super::respond;
use super::server::Shared;

/// Largest request we read; anything longer is cut and then dropped as malformed.
const MAX_REQUEST: usize = 4096;
/// How often an idle loop looks at the shutdown token.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Serves one UDP socket on the calling (dedicated) thread until shutdown.
pub(crate) fn serve(sock: UdpSocket, shared: Arc<Shared>, shutdown: CancellationToken, rt: Handle) {
    if let Err(e) = sock
        .set_nonblocking(false)
        .and_then(|()| sock.set_read_timeout(Some(SHUTDOWN_POLL)))
    {
        tracing::error!(error = %e, "dns udp socket setup failed");
        return;
    }
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut out = Vec::with_capacity(1232);
    while !shutdown.is_cancelled() {
        let (n, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(e) => {
                // ICMP errors from earlier sends surface here; keep serving.
                tracing::debug!(error = %e, "dns udp recv error");
                continue;
            }
        };
        let raw = &buf[..n];
        let answered = {
            let snap = shared.snap.load();
            respond::fast(&snap, raw, &shared.counters, &mut out)
        } || rt.block_on(slow(&shared, raw, src, &mut out));
        if answered && let Err(e) = sock.send_to(&out, src) {
            tracing::debug!(%src, error = %e, "dns udp send error");
        }
    }
}

async fn slow(shared: &Shared, raw: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> bool {
    let snap = shared.snap.load_full();
    respond::slow(&snap, raw, src, Protocol::Udp, &shared.counters, out).await
}

/// Answers one datagram into `out` (fast path, then Catalog); `false` means drop it.
#[cfg(test)]
pub(crate) async fn answer(shared: &Shared, raw: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> bool {
    {
        let snap = shared.snap.load();
        if respond::fast(&snap, raw, &shared.counters, out) {
            return true;
        }
    }
    slow(shared, raw, src, out).await
}
