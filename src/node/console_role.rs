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
    let mut console = Console::new(reports, Some(drills.clone()));
    console.roster = stores.roster.clone();
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

/// Page about drills: a notice when one starts, and when it ends (a warning unless it passed).
pub(super) fn alert_drills(console: &Console, raise: crate::alert::Raise, tasks: &mut Tasks) {
    use crate::alert::{Action, AlertEvent};
    use crate::config::Severity;
    use tokio::sync::broadcast::error::RecvError;
    let Some(drills) = &console.drills else {
        return;
    };
    let mut notes = drills.subscribe();
    let token = tasks.token();
    tasks.spawn("alert_drills", async move {
        loop {
            let note = tokio::select! {
                () = token.cancelled() => return Ok::<(), NodeError>(()),
                n = notes.recv() => match n {
                    Ok(n) => n,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                },
            };
            let severity = match note.phase.as_str() {
                "started" | "passed" => Severity::Info,
                _ => Severity::Warning,
            };
            let details = [
                ("drill".to_owned(), note.id.clone()),
                ("by".to_owned(), note.by.clone()),
            ]
            .into_iter()
            .collect();
            raise.raise(AlertEvent {
                kind: "drill".into(),
                event: format!("drill_{}", note.phase),
                action: Action::Notice,
                key: format!("drill/{}", note.service),
                severity,
                service: Some(note.service.clone()),
                sites: Vec::new(),
                epoch: None,
                summary: format!("drill of {} {} ({})", note.service, note.phase, note.by),
                reason: note.detail.clone(),
                node: raise.node().clone(),
                at: crate::model::Timestamp::now(),
                details,
                count: 1,
                only_if_open: false,
            });
        }
    });
}
