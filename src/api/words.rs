//! Audit records in plain words, for the dashboard's timeline and the CLI's `history` table.

use crate::policy::{AuditEntry, AuditRecord, Command, Event, Input, Output, TimeoutAction};
use serde::Serialize;

/// One notable audit record: when, which service, what kind, and what happened in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Said {
    /// When (ms since the Unix epoch).
    pub at: u64,
    /// The service, or empty (a probe's event, a node start).
    pub service: String,
    /// `decision`, `operator`, `drill`, `event` or `start`.
    pub kind: &'static str,
    /// What happened.
    pub text: String,
}

/// The record in words; `None` for records nobody reads on a timeline (observations, ticks,
/// commits: their `switched` event says it better).
pub fn describe(r: &AuditRecord) -> Option<Said> {
    let said = |service: &str, kind, text: String| Said {
        at: r.at.0,
        service: service.to_owned(),
        kind,
        text,
    };
    match &r.entry {
        AuditEntry::Start(committed) => Some(said(
            "",
            "start",
            format!("node started with {} committed service(s)", committed.len()),
        )),
        AuditEntry::Input(Input::Command(c)) => {
            let s = c.service().as_str();
            let text = match c {
                Command::Switch {
                    to,
                    reason,
                    by,
                    force,
                    ..
                } => format!(
                    "{by} asked to switch to {to}{}: {reason}",
                    if *force { " (forced)" } else { "" }
                ),
                Command::Approve { by, .. } => format!("{by} approved the pending switch"),
                Command::Reject { by, .. } => format!("{by} rejected the pending switch"),
                Command::Maintenance { on, by, .. } => {
                    format!("{by} turned maintenance {}", if *on { "on" } else { "off" })
                }
                Command::Readmit { site, by, .. } => format!("{by} re-admitted {site}"),
            };
            Some(said(s, "operator", text))
        }
        AuditEntry::Input(_) | AuditEntry::Output(Output::Commit(_)) => None,
        AuditEntry::Output(Output::Event(e)) => {
            let s = e.service().map(|s| s.as_str()).unwrap_or("");
            let kind = if matches!(e, Event::Switched { .. }) {
                "decision"
            } else {
                "event"
            };
            Some(said(s, kind, event(e)))
        }
        AuditEntry::Recovered(c) => Some(said(
            c.decision.service.as_str(),
            "decision",
            format!(
                "recovered at start: epoch {} on {} was committed but not recorded (the node stopped in between): {}",
                c.decision.epoch, c.decision.active_site, c.decision.reason
            ),
        )),
        AuditEntry::Drill(d) => Some(said(
            d.service.as_str(),
            "drill",
            format!("drill {} {} by {}: {}", d.id, d.phase, d.by, d.detail),
        )),
    }
}

/// A policy event in words.
pub(crate) fn event(e: &Event) -> String {
    match e {
        Event::Switched {
            from,
            to,
            epoch,
            reason,
            decision,
            ..
        } => format!(
            "switched {from} → {to} (epoch {epoch}, {}): {reason}",
            serde_json::to_value(decision)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        Event::SwitchProposed { to, reason, .. } => {
            format!("switch to {to} proposed, waiting for approval: {reason}")
        }
        Event::ProposalWithdrawn { to, reason, .. } => {
            format!("proposed switch to {to} withdrawn: {reason}")
        }
        Event::ProposalRejected { to, by, .. } => format!("{by} rejected the switch to {to}"),
        Event::ConfirmTimedOut { to, action, .. } => match action {
            TimeoutAction::Aborted => {
                format!("nobody approved the switch to {to} in time: dropped")
            }
            TimeoutAction::Proceeded => {
                format!("nobody approved the switch to {to} in time: went ahead")
            }
            TimeoutAction::ProceedBlocked => {
                format!("switch to {to} timed out and {to} is no longer fit: dropped")
            }
        },
        Event::PrimaryDown { site, reason, .. } => format!("active site {site} is down: {reason}"),
        Event::ActiveRecovered { site, .. } => format!("active site {site} is up again"),
        Event::SwitchRefusedTargetDown { from, reason, .. } => {
            format!("{from} is down but no other site is up: staying ({reason})")
        }
        Event::GateBlocked { site, reason, .. } => {
            format!("readiness gates block a switch to {site}: {reason}")
        }
        Event::QuorumLost {
            counting, quorum, ..
        } => format!("quorum lost: {counting} counting probe(s), {quorum} needed"),
        Event::QuorumRestored { .. } => "quorum restored".to_owned(),
        Event::Abstaining { node, detail } => format!(
            "probe {node} abstains: {}",
            detail.as_deref().unwrap_or("its own uplink check fails")
        ),
        Event::Counting { node } => format!("probe {node} counts again"),
        Event::FailbackAvailable { site, .. } => {
            format!("{site} has been up long enough: an operator may switch back")
        }
        Event::MaintenanceChanged { on, by, .. } => {
            format!("maintenance {} by {by}", if *on { "on" } else { "off" })
        }
        Event::HeldOut { site, .. } => format!("{site} is held out until re-admitted"),
        Event::Readmitted { site, by, .. } => format!("{by} re-admitted {site}"),
        Event::Flapping { penalty, until, .. } => format!(
            "flapping (penalty {penalty}): automatic switches suspended until {}",
            crate::drill::rfc3339(*until)
        ),
        Event::FlappingEnded { .. } => "no longer flapping: automatic switches resume".to_owned(),
    }
}
