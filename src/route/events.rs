//! Route, address and link events from the kernel wake the enactor, so a route someone
//! deleted or changed comes back at once rather than at the next periodic resync.
//!
//! Only events that can concern a VIP wake it: routes for a VIP prefix or with our protocol
//! number, VIP addresses, links (interfaces and next-hop reachability), and overruns. A BIRD
//! on the same router installing thousands of other routes does not cost a re-read each.

use super::RouteError;
use super::kernel::parse_route;
use ipnet::IpNet;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::AddressAttribute;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Large enough for the event burst of a 10,000-VIP switch; an overrun still only costs a
/// re-read, since every event means "look again".
const RCVBUF: usize = 4 << 20;

/// What the enactor owns: events about anything else are ignored.
#[derive(Clone, Debug, Default)]
pub struct Interest {
    /// Route-mode VIP prefixes.
    pub prefixes: HashSet<IpNet>,
    /// Address-mode VIP addresses.
    pub addresses: HashSet<IpAddr>,
    /// Our route protocol number.
    pub protocol: u8,
}

impl Interest {
    /// Whether this event may change what the enactor must do.
    pub fn wakes(&self, msg: &RouteNetlinkMessage) -> bool {
        match msg {
            RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => parse_route(r)
                .is_some_and(|k| k.protocol == self.protocol || self.prefixes.contains(&k.prefix)),
            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a) => {
                a.attributes.iter().any(|at| match at {
                    AddressAttribute::Local(ip) | AddressAttribute::Address(ip) => {
                        self.addresses.contains(ip)
                    }
                    _ => false,
                })
            }
            _ => true,
        }
    }
}

/// Subscribe to route/address/link events; each one that concerns `interest` (or an overrun)
/// calls `wake.notify_one()` until `shutdown`.
pub fn subscribe(
    interest: Interest,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) -> Result<(), RouteError> {
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
                match &msg.payload {
                    NetlinkPayload::Overrun(_) => {
                        tracing::warn!(
                            "route events overran the socket buffer; re-reading the kernel"
                        );
                        wake.notify_one();
                    }
                    NetlinkPayload::InnerMessage(m) if interest.wakes(m) => wake.notify_one(),
                    _ => {}
                }
            }
        }
        .instrument(tracing::info_span!("route-events")),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::RouteMessageBuilder;
    use rtnetlink::packet_route::route::RouteProtocol;
    use std::net::Ipv4Addr;

    fn route(dst: [u8; 4], proto: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewRoute(
            RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(Ipv4Addr::from(dst), 32)
                .protocol(RouteProtocol::from(proto))
                .build(),
        )
    }

    #[test]
    fn only_vip_prefixes_and_our_protocol_wake() {
        let i = Interest {
            prefixes: HashSet::from(["10.9.0.10/32".parse().unwrap()]),
            addresses: HashSet::new(),
            protocol: 57,
        };
        assert!(
            i.wakes(&route([10, 9, 0, 10], 4)),
            "a foreign route for a VIP prefix"
        );
        assert!(i.wakes(&route([10, 9, 0, 99], 57)), "one of ours");
        assert!(!i.wakes(&route([192, 0, 2, 1], 12)), "BIRD's other routes");
    }
}
