//! Policy events ([`DurableEvent`], already durable in the audit log) → alerts.
//!
//! The match is exhaustive: a new policy event does not compile until it is mapped here.
//! Keys name the condition only (`failover/crm`), so the leader of a cluster, or each of
//! several independent authorities, raises the same incident.

use super::event::{Action, AlertEvent};
use crate::config::{Config, Severity};
use crate::decide::DurableEvent;
use crate::model::{DecisionKind, NodeId};
use crate::policy::{Event, TimeoutAction};

/// The alerts one policy event raises (none for those that need nobody's attention).
pub fn alerts(cfg: &Config, node: &NodeId, e: &DurableEvent) -> Vec<AlertEvent> {
    let at = e.at;
    let new = |kind: &str, event: &str, action, key: String, sev, summary: String| {
        AlertEvent::new(kind, event, action, key, sev, summary, node.clone(), at)
    };
    match &e.event {
        Event::Switched {
            service,
            from,
            to,
            epoch,
            decision,
            reason,
        } => {
            if *decision == DecisionKind::Initial {
                return Vec::new();
            }
            let primary = cfg.primary();
            let back_home = primary == Some(to);
            let event = match (decision, back_home) {
                (DecisionKind::Operator, _) => "operator_switch",
                (_, true) => "failback",
                (DecisionKind::Confirmed, false) => "approved_failover",
                _ => "failover",
            };
            let action = if back_home {
                Action::Resolve
            } else {
                Action::Trigger
            };
            let summary = format!("{service} switched {from} → {to} (epoch {epoch}, {event})");
            let mut out = vec![
                new(
                    "failover",
                    event,
                    action,
                    format!("failover/{service}"),
                    Severity::Critical,
                    summary,
                )
                .service(service)
                .sites([from, to])
                .epoch(*epoch)
                .reason(reason.clone())
                .detail("from", from.as_str())
                .detail("to", to.as_str())
                .detail("decision", format!("{decision:?}").to_lowercase()),
            ];
            // The switch settles what blocked or announced it.
            for (kind, key) in [
                ("approval", format!("approval/{service}")),
                ("site_down", format!("site_down/{service}/{from}")),
                ("no_target", format!("no_target/{service}")),
                (
                    "failback_available",
                    format!("failback_available/{service}"),
                ),
            ] {
                out.push(
                    new(
                        kind,
                        "switched",
                        Action::Resolve,
                        key,
                        severity_of(kind),
                        format!("{service} switched to {to}"),
                    )
                    .service(service)
                    .sites([to])
                    .epoch(*epoch)
                    // Only what this node saw open: not a resolve per switch per condition.
                    .only_if_open(),
                );
            }
            out
        }
        Event::SwitchProposed {
            service,
            from,
            to,
            deadline,
            reason,
        } => {
            let approve =
                format!("switchback approve {service}  (or: switchback reject {service})");
            vec![
                new(
                    "approval",
                    "awaiting_approval",
                    Action::Trigger,
                    format!("approval/{service}"),
                    Severity::Critical,
                    format!(
                        "{service}: switch {from} → {to} awaits approval until {}",
                        super::event::rfc3339(*deadline)
                    ),
                )
                .service(service)
                .sites([from, to])
                .reason(reason.clone())
                .detail("deadline", super::event::rfc3339(*deadline))
                .detail("approve", approve),
            ]
        }
        Event::ProposalWithdrawn {
            service,
            to,
            reason,
        } => vec![
            new(
                "approval",
                "proposal_withdrawn",
                Action::Resolve,
                format!("approval/{service}"),
                Severity::Critical,
                format!("{service}: proposed switch to {to} withdrawn"),
            )
            .service(service)
            .sites([to])
            .reason(reason.clone()),
        ],
        Event::ProposalRejected { service, to, by } => vec![
            new(
                "approval",
                "proposal_rejected",
                Action::Resolve,
                format!("approval/{service}"),
                Severity::Critical,
                format!("{service}: {by} rejected the switch to {to}"),
            )
            .service(service)
            .sites([to])
            .detail("by", by.clone()),
        ],
        Event::ConfirmTimedOut {
            service,
            to,
            action,
        } => {
            let what = match action {
                TimeoutAction::Aborted => "aborted",
                TimeoutAction::Proceeded => "proceeded",
                TimeoutAction::ProceedBlocked => "proceed_blocked",
            };
            vec![
                new(
                    "approval",
                    "confirm_timed_out",
                    Action::Resolve,
                    format!("approval/{service}"),
                    Severity::Critical,
                    format!("{service}: nobody approved the switch to {to} in time ({what})"),
                )
                .service(service)
                .sites([to])
                .detail("timeout_action", what),
            ]
        }
        Event::PrimaryDown {
            service,
            site,
            reason,
        } => vec![
            new(
                "site_down",
                "active_down",
                Action::Trigger,
                format!("site_down/{service}/{site}"),
                severity_of("site_down"),
                format!("{service}: active site {site} is down"),
            )
            .service(service)
            .sites([site])
            .reason(reason.clone()),
        ],
        Event::ActiveRecovered { service, site } => {
            let mut out = vec![
                new(
                    "site_down",
                    "active_recovered",
                    Action::Resolve,
                    format!("site_down/{service}/{site}"),
                    severity_of("site_down"),
                    format!("{service}: active site {site} is up again"),
                )
                .service(service)
                .sites([site]),
            ];
            for kind in ["no_target", "gate_blocked"] {
                out.push(
                    new(
                        kind,
                        "active_recovered",
                        Action::Resolve,
                        format!("{kind}/{service}"),
                        severity_of(kind),
                        format!("{service}: active site {site} is up again"),
                    )
                    .service(service)
                    .sites([site]),
                );
            }
            out
        }
        Event::SwitchRefusedTargetDown {
            service,
            from,
            reason,
        } => vec![
            new(
                "no_target",
                "switch_refused_target_down",
                Action::Trigger,
                format!("no_target/{service}"),
                severity_of("no_target"),
                format!("{service}: active site {from} is down and no other site is up"),
            )
            .service(service)
            .sites([from])
            .reason(reason.clone()),
        ],
        Event::GateBlocked {
            service,
            site,
            reason,
        } => vec![
            new(
                "gate_blocked",
                "gate_blocked",
                Action::Trigger,
                format!("gate_blocked/{service}"),
                severity_of("gate_blocked"),
                format!("{service}: readiness gates at {site} block the switch"),
            )
            .service(service)
            .sites([site])
            .reason(reason.clone()),
        ],
        Event::QuorumLost {
            service,
            counting,
            quorum,
        } => vec![
            new(
                "quorum_lost",
                "quorum_lost",
                Action::Trigger,
                format!("quorum_lost/{service}"),
                severity_of("quorum_lost"),
                format!("{service}: only {counting} counting probes, {quorum} needed to decide"),
            )
            .service(service)
            .detail("counting", counting.to_string())
            .detail("quorum", quorum.to_string()),
        ],
        Event::QuorumRestored { service } => vec![
            new(
                "quorum_lost",
                "quorum_restored",
                Action::Resolve,
                format!("quorum_lost/{service}"),
                severity_of("quorum_lost"),
                format!("{service}: enough counting probes again"),
            )
            .service(service),
        ],
        Event::Abstaining {
            node: probe,
            detail,
        } => vec![
            new(
                "probe_abstaining",
                "abstaining",
                Action::Trigger,
                format!("probe_abstaining/{probe}"),
                severity_of("probe_abstaining"),
                format!("probe {probe} abstains (its self-check fails)"),
            )
            .reason(detail.clone().unwrap_or_default())
            .detail("probe", probe.as_str()),
        ],
        Event::Counting { node: probe } => vec![
            new(
                "probe_abstaining",
                "counting",
                Action::Resolve,
                format!("probe_abstaining/{probe}"),
                severity_of("probe_abstaining"),
                format!("probe {probe} counts again"),
            )
            .detail("probe", probe.as_str()),
        ],
        Event::FailbackAvailable { service, site } => vec![
            new(
                "failback_available",
                "failback_available",
                Action::Trigger,
                format!("failback_available/{service}"),
                severity_of("failback_available"),
                format!(
                    "{service}: primary {site} has been up long enough; an operator may switch back"
                ),
            )
            .service(service)
            .sites([site])
            .detail(
                "failback",
                format!("switchback switch {service} --to {site} --reason ..."),
            ),
        ],
        Event::MaintenanceChanged { service, on, by } => vec![
            new(
                "maintenance",
                if *on {
                    "maintenance_on"
                } else {
                    "maintenance_off"
                },
                if *on {
                    Action::Trigger
                } else {
                    Action::Resolve
                },
                format!("maintenance/{service}"),
                severity_of("maintenance"),
                format!(
                    "{service}: maintenance {} by {by}",
                    if *on { "on" } else { "off" }
                ),
            )
            .service(service)
            .detail("by", by.clone()),
        ],
        Event::HeldOut { service, site } => vec![
            new(
                "held_out",
                "held_out",
                Action::Trigger,
                format!("held_out/{service}/{site}"),
                severity_of("held_out"),
                format!("{service}: recovered site {site} is held out until re-admitted"),
            )
            .service(service)
            .sites([site]),
        ],
        Event::Flapping {
            service,
            penalty,
            until,
        } => vec![
            new(
                "flapping",
                "flapping",
                Action::Trigger,
                format!("flapping/{service}"),
                severity_of("flapping"),
                format!(
                    "{service}: automatic switches came too often (damping penalty {penalty}); \
                     automatic switching stops until {}, operators can still switch",
                    super::event::rfc3339(*until)
                ),
            )
            .service(service)
            .detail("penalty", penalty.to_string()),
        ],
        Event::FlappingEnded { service } => vec![
            new(
                "flapping",
                "flapping_ended",
                Action::Resolve,
                format!("flapping/{service}"),
                severity_of("flapping"),
                format!("{service}: damping penalty decayed, automatic switching resumes"),
            )
            .service(service),
        ],
        Event::Readmitted { service, site, by } => vec![
            new(
                "held_out",
                "readmitted",
                Action::Resolve,
                format!("held_out/{service}/{site}"),
                severity_of("held_out"),
                format!("{service}: {by} re-admitted {site}"),
            )
            .service(service)
            .sites([site])
            .detail("by", by.clone()),
        ],
    }
}

/// One severity per condition, so a trigger and its resolve carry the same labels.
pub(crate) fn severity_of(kind: &str) -> Severity {
    match kind {
        "failover" | "approval" | "site_down" | "no_target" | "gate_blocked" | "quorum_lost"
        | "enactment" | "node_isolated" | "flapping" => Severity::Critical,
        "probe_abstaining" | "degraded" | "node_stale" | "held_out" => Severity::Warning,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Epoch, ServiceId, SiteId, Timestamp};

    fn cfg() -> Config {
        let f = &crate::fixture::config;
        f(
            &["crm"],
            crate::fixture::voters(3, 3),
            crate::fixture::policy(),
        )
    }

    fn map(event: Event) -> Vec<AlertEvent> {
        alerts(
            &cfg(),
            &NodeId::from("n1"),
            &DurableEvent {
                at: Timestamp(1_000),
                event,
            },
        )
    }

    fn switched(to: &str, decision: DecisionKind, epoch: u64) -> Event {
        Event::Switched {
            service: ServiceId::from("crm"),
            from: SiteId::from(if to == "bj" { "sh" } else { "bj" }),
            to: SiteId::from(to),
            epoch: Epoch(epoch),
            decision,
            reason: "app down at bj from 3/3 probes".into(),
        }
    }

    #[test]
    fn failover_and_failback_share_one_key_and_the_initial_decision_pages_nobody() {
        assert!(map(switched("bj", DecisionKind::Initial, 1)).is_empty());
        let over = map(switched("sh", DecisionKind::Failover, 2));
        let back = map(switched("bj", DecisionKind::Failback, 3));
        assert_eq!(
            (over[0].action, back[0].action),
            (Action::Trigger, Action::Resolve)
        );
        assert_eq!(over[0].key, "failover/crm");
        assert_eq!(over[0].key, back[0].key);
        assert_eq!(back[0].event, "failback");
        assert_eq!(
            over[0].severity, back[0].severity,
            "same labels for Alertmanager"
        );
        assert_eq!(over[0].reason, "app down at bj from 3/3 probes");
        let op = map(switched("sh", DecisionKind::Operator, 4));
        assert_eq!(op[0].event, "operator_switch");
    }

    #[test]
    fn awaiting_approval_says_until_when_and_how_to_approve() {
        let a = map(Event::SwitchProposed {
            service: ServiceId::from("crm"),
            from: SiteId::from("bj"),
            to: SiteId::from("sh"),
            deadline: Timestamp(301_000),
            reason: "bj down".into(),
        });
        assert_eq!(a[0].key, "approval/crm");
        assert_eq!(a[0].severity, Severity::Critical);
        assert_eq!(a[0].details["deadline"], "1970-01-01T00:05:01.000Z");
        assert!(a[0].details["approve"].contains("switchback approve crm"));
        let r = map(Event::ProposalRejected {
            service: ServiceId::from("crm"),
            to: SiteId::from("sh"),
            by: "alice".into(),
        });
        assert_eq!(
            (r[0].key.as_str(), r[0].action),
            ("approval/crm", Action::Resolve)
        );
        assert_eq!(r[0].details["by"], "alice");
    }

    #[test]
    fn every_kind_raised_is_one_a_filter_may_name() {
        let events = [
            switched("sh", DecisionKind::Failover, 2),
            Event::QuorumLost {
                service: ServiceId::from("crm"),
                counting: 1,
                quorum: 2,
            },
            Event::Abstaining {
                node: NodeId::from("p1"),
                detail: None,
            },
            Event::MaintenanceChanged {
                service: ServiceId::from("crm"),
                on: true,
                by: "bob".into(),
            },
            Event::Flapping {
                service: ServiceId::from("crm"),
                penalty: 1990,
                until: Timestamp(90_000),
            },
            Event::FlappingEnded {
                service: ServiceId::from("crm"),
            },
        ];
        for e in events {
            for a in map(e) {
                assert!(
                    crate::config::ALERT_KINDS.contains(&a.kind.as_str()),
                    "{}",
                    a.kind
                );
            }
        }
    }
}
