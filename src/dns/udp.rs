//! The UDP listener: one receive loop per SO_REUSEPORT socket, fast path first.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_server::net::xfer::Protocol;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::respond;
use super::server::Shared;

/// Largest request we read; anything longer is cut and then dropped as malformed.
const MAX_REQUEST: usize = 4096;

/// Serves one UDP socket until shutdown.
pub(crate) async fn serve(sock: UdpSocket, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut out = Vec::with_capacity(1232);
    loop {
        let (n, src) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; keep serving.
                    tracing::debug!(error = %e, "dns udp recv error");
                    continue;
                }
            },
        };
        if answer(&shared, &buf[..n], src, &mut out).await
            && let Err(e) = sock.send_to(&out, src).await
        {
            tracing::debug!(%src, error = %e, "dns udp send error");
        }
    }
}

/// Answers one datagram into `out`; `false` means drop it.
pub(crate) async fn answer(shared: &Shared, raw: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> bool {
    {
        let snap = shared.snap.load();
        if respond::fast(&snap, raw, &shared.counters, out) {
            return true;
        }
    }
    let snap = shared.snap.load_full();
    respond::slow(&snap, raw, src, Protocol::Udp, &shared.counters, out).await
}
