//! Route, address and link events from the kernel wake the enactor, so a route someone
//! deleted or changed comes back at once rather than at the next periodic resync.

use super::RouteError;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::NetlinkPayload;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Large enough for the event burst of a 10,000-VIP switch; an overrun still only costs a
/// re-read, since every event means "look again".
const RCVBUF: usize = 4 << 20;

/// Subscribe to route/address/link events; each one (or an overrun) calls `wake.notify_one()`
/// until `shutdown`.
pub fn subscribe(wake: Arc<Notify>, shutdown: CancellationToken) -> Result<(), RouteError> {
    use rtnetlink::sys::AsyncSocket;
    let (mut conn, _handle, mut events) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
        MulticastGroup::Link,
    ])
    .map_err(|e| RouteError::Netlink {
        op: "subscribe to",
        what: "route and address events".into(),
        detail: e.to_string(),
    })?;
    if let Err(e) = conn.socket_mut().socket_mut().set_rx_buf_sz(RCVBUF) {
        tracing::warn!(error = %e, "cannot raise the netlink event buffer; bursts may overrun it");
    }
    let stop = shutdown.clone();
    tokio::spawn(
        async move {
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        }
        .instrument(tracing::info_span!("route-events-conn")),
    );
    tokio::spawn(
        async move {
            loop {
                let msg = tokio::select! {
                    m = futures::StreamExt::next(&mut events) => match m {
                        Some((m, _)) => m,
                        None => break,
                    },
                    _ = shutdown.cancelled() => break,
                };
                if let NetlinkPayload::Overrun(_) = msg.payload {
                    tracing::warn!("route events overran the socket buffer; re-reading the kernel");
                }
                wake.notify_one();
            }
        }
        .instrument(tracing::info_span!("route-events")),
    );
    Ok(())
}
