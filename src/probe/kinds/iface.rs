//! `iface` checks: interface operational state and carrier, followed through rtnetlink link
//! events (one multicast subscription per prober), never polled from the kernel.
//!
//! The monitor dumps all links once, then applies `NewLink`/`DelLink` events to a table
//! published through a `watch` channel. When the kernel reports an overrun (events lost
//! because the socket buffer filled), it dumps again so the table is never silently stale.

use super::Outcome;
use crate::probe::ProbeError;
use futures::TryStreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Receive buffer of the event socket, so bursts of link events do not overrun it.
const RCVBUF: usize = 4 << 20;

/// One interface as the kernel last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    /// Kernel interface index.
    pub index: u32,
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Lower layer up (IFF_LOWER_UP).
    pub lower_up: bool,
    /// Carrier attribute, when reported.
    pub carrier: Option<bool>,
    /// Operational state, e.g. `Up`, `LowerLayerDown`.
    pub oper: String,
}

/// Interfaces by name.
pub type LinkTable = BTreeMap<String, LinkState>;

fn parse(msg: &LinkMessage) -> Option<(String, LinkState)> {
    let mut name = None;
    let mut carrier = None;
    let mut oper = None;
    for a in &msg.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Carrier(c) => carrier = Some(*c != 0),
            LinkAttribute::OperState(s) => oper = Some(*s),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    Some((
        name?,
        LinkState {
            index: msg.header.index,
            admin_up: flags.contains(LinkFlags::Up),
            lower_up: flags.contains(LinkFlags::LowerUp),
            carrier,
            oper: format!("{:?}", oper.unwrap_or(State::Unknown)),
        },
    ))
}

/// Judges one interface: up when administratively up, lower layer up, carrier present, and
/// the operational state is `Up` (or `Unknown`, which drivers without operstate report).
pub(crate) fn judge(name: &str, table: Option<Arc<LinkTable>>, error: Option<&str>) -> Outcome {
    let Some(table) = table else {
        return Outcome::local(format!(
            "link monitor unavailable: {}",
            error.unwrap_or("not started")
        ));
    };
    let Some(l) = table.get(name) else {
        return Outcome::fail(None, format!("no interface {name:?}"));
    };
    let detail = format!(
        "{name}: oper {} carrier {} admin {} lower {}",
        l.oper,
        l.carrier.map_or("?", |c| if c { "1" } else { "0" }),
        if l.admin_up { "up" } else { "down" },
        if l.lower_up { "up" } else { "down" },
    );
    let oper_ok = l.oper == "Up" || l.oper == "Unknown";
    if l.admin_up && l.lower_up && l.carrier != Some(false) && oper_ok {
        Outcome::pass(None, detail)
    } else {
        Outcome::fail(None, detail)
    }
}

async fn dump(handle: &Handle) -> Result<LinkTable, rtnetlink::Error> {
    let mut table = LinkTable::new();
    let mut links = handle.link().get().execute();
    while let Some(msg) = links.try_next().await? {
        if let Some((n, s)) = parse(&msg) {
            table.insert(n, s);
        }
    }
    Ok(table)
}

/// Starts the monitor: subscribe, dump, then follow events until `shutdown`.
pub(crate) async fn start(
    shutdown: CancellationToken,
) -> Result<watch::Receiver<Arc<LinkTable>>, ProbeError> {
    use rtnetlink::sys::AsyncSocket;
    let (mut conn, handle, mut events) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link]).map_err(|e| {
            ProbeError::Netlink {
                what: "subscribe to link events",
                reason: e.to_string(),
            }
        })?;
    if let Err(e) = conn.socket_mut().socket_mut().set_rx_buf_sz(RCVBUF) {
        tracing::warn!(error = %e, "cannot raise netlink receive buffer");
    }
    let conn_stop = shutdown.clone();
    tokio::spawn(
        async move {
            tokio::select! {
                _ = conn => {}
                _ = conn_stop.cancelled() => {}
            }
        }
        .instrument(tracing::info_span!("netlink-conn")),
    );
    let first = dump(&handle).await.map_err(|e| ProbeError::Netlink {
        what: "dump links",
        reason: e.to_string(),
    })?;
    let (tx, rx) = watch::channel(Arc::new(first));
    tokio::spawn(
        async move {
            loop {
                let msg: NetlinkMessage<RouteNetlinkMessage> = tokio::select! {
                    m = futures::StreamExt::next(&mut events) => match m {
                        Some((m, _)) => m,
                        None => break,
                    },
                    _ = shutdown.cancelled() => break,
                };
                match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                        if let Some((name, state)) = parse(&l) {
                            tx.send_modify(|t| {
                                let t = Arc::make_mut(t);
                                t.retain(|n, s| s.index != state.index || *n == name);
                                t.insert(name, state);
                            });
                        }
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                        let index = l.header.index;
                        tx.send_modify(|t| Arc::make_mut(t).retain(|_, s| s.index != index));
                    }
                    NetlinkPayload::Overrun(_) => {
                        tracing::warn!(
                            "link events overran the socket buffer; dumping links again"
                        );
                        match dump(&handle).await {
                            Ok(t) => {
                                let _ = tx.send(Arc::new(t));
                            }
                            Err(e) => tracing::error!(error = %e, "link re-dump failed"),
                        }
                    }
                    _ => {}
                }
            }
        }
        .instrument(tracing::info_span!("link-monitor")),
    );
    Ok(rx)
}
