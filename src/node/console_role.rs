//! The operator's console on this node: drills (with the decision loop), the timeline follower.

use super::NodeError;
use super::tasks::Tasks;
use crate::api::Console;
use crate::config::Config;
use crate::decide::{Clock, DecisionHandle};
use crate::drill::Drills;
use crate::enact::Reports;
use crate::store::Stores;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Where this node reaches its own listener bound at `addr` (a wildcard becomes loopback).
pub(super) fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// Build the console (drills write under `state_dir/drills/`), seed its timeline from the
/// audit log and follow the decision loop's events and the drills' notes.
pub(super) async fn start(
    cfg: &Config,
    decide: &DecisionHandle,
    stores: &Stores,
    reports: Reports,
    clock: Clock,
    tasks: &mut Tasks,
) -> Console {
    let drills = Drills::new(
        decide.clone(),
        reports.clone(),
        Arc::clone(&stores.audit),
        clock,
        cfg.node.state_dir.join("drills"),
        tasks.token(),
    );
    let console = Console::new(reports, Some(drills.clone()));
    let services: Vec<_> = cfg.services.iter().map(|s| s.name.clone()).collect();
    console.seed(stores.audit.as_ref(), &services).await;
    let follower = console.clone();
    let (events, notes, token) = (decide.events(), drills.subscribe(), tasks.token());
    tasks.spawn("console", async move {
        follower.follow(events, Some(notes), token).await;
        Ok::<(), NodeError>(())
    });
    console
}
