//! Typed events of the decision core: what happened, whether to page, and at which level to log.

use crate::model::{DecisionKind, Epoch, NodeId, ServiceId, SiteId, Timestamp};
use serde::{Deserialize, Serialize};

/// What a confirm-mode timeout did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutAction {
    /// The proposal was dropped.
    Aborted,
    /// The switch went ahead.
    Proceeded,
    /// Configured to proceed, but the target is no longer up (or its gates fail): dropped.
    ProceedBlocked,
}

/// Something operators or logs should know; never a silent decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The active site changed (or was first set).
    Switched {
        /// The service.
        service: ServiceId,
        /// The previous active site.
        from: SiteId,
        /// The new active site.
        to: SiteId,
        /// The new epoch.
        epoch: Epoch,
        /// Why, in kind.
        decision: DecisionKind,
        /// Why, in words.
        reason: String,
    },
    /// Confirm mode: a switch waits for an operator's approval.
    SwitchProposed {
        /// The service.
        service: ServiceId,
        /// The active site.
        from: SiteId,
        /// The proposed site.
        to: SiteId,
        /// When the proposal times out.
        deadline: Timestamp,
        /// Why.
        reason: String,
    },
    /// A pending proposal went away because its cause did (the active site recovered, maintenance).
    ProposalWithdrawn {
        /// The service.
        service: ServiceId,
        /// The site that was proposed.
        to: SiteId,
        /// Why.
        reason: String,
    },
    /// An operator rejected the pending proposal.
    ProposalRejected {
        /// The service.
        service: ServiceId,
        /// The site that was proposed.
        to: SiteId,
        /// Who.
        by: String,
    },
    /// Nobody approved in time.
    ConfirmTimedOut {
        /// The service.
        service: ServiceId,
        /// The proposed site.
        to: SiteId,
        /// What happened.
        action: TimeoutAction,
    },
    /// The active site has been down by quorum for `hold_down`.
    PrimaryDown {
        /// The service.
        service: ServiceId,
        /// The active site that is down.
        site: SiteId,
        /// Which probes and layers.
        reason: String,
    },
    /// The active site is seen up again after a [`Event::PrimaryDown`].
    ActiveRecovered {
        /// The service.
        service: ServiceId,
        /// The site.
        site: SiteId,
    },
    /// The active site is down but no other site is up by quorum: no switch (never to a dead site).
    SwitchRefusedTargetDown {
        /// The service.
        service: ServiceId,
        /// The active (down) site.
        from: SiteId,
        /// What each candidate looks like.
        reason: String,
    },
    /// A target is up but its readiness gates are not.
    GateBlocked {
        /// The service.
        service: ServiceId,
        /// The target site.
        site: SiteId,
        /// Which gates, from how many probes.
        reason: String,
    },
    /// Counting probes are too few (or from too few domains) to reach any verdict.
    QuorumLost {
        /// The service.
        service: ServiceId,
        /// Counting probes now.
        counting: usize,
        /// Needed.
        quorum: usize,
    },
    /// Enough counting probes again.
    QuorumRestored {
        /// The service.
        service: ServiceId,
    },
    /// A probe's self-check failed: its votes are set aside.
    Abstaining {
        /// The probe.
        node: NodeId,
        /// Its own explanation.
        detail: Option<String>,
    },
    /// A probe's self-check passes again.
    Counting {
        /// The probe.
        node: NodeId,
    },
    /// Manual failback: the primary has been up for `failback_hold`; an operator may switch back.
    FailbackAvailable {
        /// The service.
        service: ServiceId,
        /// The recovered primary.
        site: SiteId,
    },
    /// Maintenance was turned on or off.
    MaintenanceChanged {
        /// The service.
        service: ServiceId,
        /// On or off.
        on: bool,
        /// Who.
        by: String,
    },
    /// A site was kept out of automatic choice after it failed (`hold_out_recovered`).
    HeldOut {
        /// The service.
        service: ServiceId,
        /// The site.
        site: SiteId,
    },
    /// Automatic switches of a service came too often (flap damping): they stop until the
    /// penalty decays; operators can still switch, answers use the degraded TTL.
    Flapping {
        /// The service.
        service: ServiceId,
        /// The penalty after the last switch.
        penalty: u32,
        /// When automatic switching resumes, unless it flaps again.
        until: Timestamp,
    },
    /// The damping penalty decayed below `reuse`: automatic switching resumes.
    FlappingEnded {
        /// The service.
        service: ServiceId,
    },
    /// An operator re-admitted a held-out site.
    Readmitted {
        /// The service.
        service: ServiceId,
        /// The site.
        site: SiteId,
        /// Who.
        by: String,
    },
}

impl Event {
    /// A stable name for metrics and alert dedup keys.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Switched { .. } => "switched",
            Event::SwitchProposed { .. } => "switch_proposed",
            Event::ProposalWithdrawn { .. } => "proposal_withdrawn",
            Event::ProposalRejected { .. } => "proposal_rejected",
            Event::ConfirmTimedOut { .. } => "confirm_timed_out",
            Event::PrimaryDown { .. } => "primary_down",
            Event::ActiveRecovered { .. } => "active_recovered",
            Event::SwitchRefusedTargetDown { .. } => "switch_refused_target_down",
            Event::GateBlocked { .. } => "gate_blocked",
            Event::QuorumLost { .. } => "quorum_lost",
            Event::QuorumRestored { .. } => "quorum_restored",
            Event::Abstaining { .. } => "abstaining",
            Event::Counting { .. } => "counting",
            Event::FailbackAvailable { .. } => "failback_available",
            Event::MaintenanceChanged { .. } => "maintenance_changed",
            Event::HeldOut { .. } => "held_out",
            Event::Readmitted { .. } => "readmitted",
            Event::Flapping { .. } => "flapping",
            Event::FlappingEnded { .. } => "flapping_ended",
        }
    }

    /// The service concerned, if the event is about one.
    pub fn service(&self) -> Option<&ServiceId> {
        match self {
            Event::Abstaining { .. } | Event::Counting { .. } => None,
            Event::Switched { service, .. }
            | Event::SwitchProposed { service, .. }
            | Event::ProposalWithdrawn { service, .. }
            | Event::ProposalRejected { service, .. }
            | Event::ConfirmTimedOut { service, .. }
            | Event::PrimaryDown { service, .. }
            | Event::ActiveRecovered { service, .. }
            | Event::SwitchRefusedTargetDown { service, .. }
            | Event::GateBlocked { service, .. }
            | Event::QuorumLost { service, .. }
            | Event::QuorumRestored { service }
            | Event::FailbackAvailable { service, .. }
            | Event::MaintenanceChanged { service, .. }
            | Event::HeldOut { service, .. }
            | Event::Readmitted { service, .. }
            | Event::Flapping { service, .. }
            | Event::FlappingEnded { service } => Some(service),
        }
    }

    /// Whether an operator should be paged: anything that switched, wants a human, or blocks a switch.
    pub fn page(&self) -> bool {
        matches!(
            self,
            Event::Switched { .. }
                | Event::SwitchProposed { .. }
                | Event::ConfirmTimedOut { .. }
                | Event::PrimaryDown { .. }
                | Event::SwitchRefusedTargetDown { .. }
                | Event::GateBlocked { .. }
                | Event::QuorumLost { .. }
                | Event::Flapping { .. }
        )
    }

    /// Emit this event as a `tracing` event at its level.
    pub fn log(&self) {
        let kind = self.kind();
        let service = self.service().map(|s| s.as_str()).unwrap_or("");
        match self {
            Event::Switched {
                from,
                to,
                epoch,
                reason,
                ..
            } => tracing::warn!(kind, service, %from, %to, %epoch, reason, "switched"),
            Event::SwitchProposed {
                from, to, reason, ..
            } => {
                tracing::warn!(kind, service, %from, %to, reason, "switch proposed; awaiting approval")
            }
            Event::PrimaryDown { site, reason, .. } => {
                tracing::error!(kind, service, %site, reason, "active site down")
            }
            Event::SwitchRefusedTargetDown { from, reason, .. } => {
                tracing::error!(kind, service, %from, reason, "no site up to switch to")
            }
            Event::GateBlocked { site, reason, .. } => {
                tracing::error!(kind, service, %site, reason, "readiness gates block the switch")
            }
            Event::QuorumLost {
                counting, quorum, ..
            } => tracing::error!(kind, service, counting, quorum, "quorum lost"),
            Event::ConfirmTimedOut { to, action, .. } => {
                tracing::warn!(kind, service, %to, ?action, "confirmation timed out")
            }
            Event::Abstaining { node, detail } => {
                tracing::warn!(kind, %node, detail = detail.as_deref().unwrap_or(""), "probe abstains")
            }
            Event::Counting { node } => tracing::info!(kind, %node, "probe counts again"),
            Event::Flapping { penalty, until, .. } => tracing::error!(
                kind,
                service,
                penalty,
                until = until.0,
                "flapping: automatic switching suppressed"
            ),
            other => tracing::info!(kind, service, event = ?other, "policy event"),
        }
    }
}
