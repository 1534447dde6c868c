//! What goes into the decision core and what comes out of it (serde: the audit log holds these).

use super::event::Event;
use crate::model::{Committed, Observation, ServiceId, SiteId};
use serde::{Deserialize, Serialize};

/// One input to [`super::Engine::handle`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// A probe's observation, already verified by [`crate::tally::Verifier`].
    Observation(Observation),
    /// An operator's command.
    Command(Command),
    /// A timer fired: sent at (or after) [`super::Engine::next_deadline`].
    Tick,
}

/// An operator's command for one service; `by` names the operator for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Make `to` the active site now.
    Switch {
        /// The service.
        service: ServiceId,
        /// The site to switch to.
        to: SiteId,
        /// Why (goes into the decision's reason).
        reason: String,
        /// Who.
        by: String,
        /// Switch even if a quorum does not see `to` up.
        #[serde(default)]
        force: bool,
    },
    /// Approve the pending (confirm-mode) switch.
    Approve {
        /// The service.
        service: ServiceId,
        /// Who.
        by: String,
    },
    /// Reject the pending switch; no new proposal until the active site recovers.
    Reject {
        /// The service.
        service: ServiceId,
        /// Who.
        by: String,
    },
    /// Freeze (or unfreeze) automatic decisions.
    Maintenance {
        /// The service.
        service: ServiceId,
        /// On or off.
        on: bool,
        /// Who.
        by: String,
    },
    /// Let a held-out (recovered) site be chosen automatically again.
    Readmit {
        /// The service.
        service: ServiceId,
        /// The held-out site.
        site: SiteId,
        /// Who.
        by: String,
    },
}

impl Command {
    /// The service the command is about.
    pub fn service(&self) -> &ServiceId {
        match self {
            Command::Switch { service, .. }
            | Command::Approve { service, .. }
            | Command::Reject { service, .. }
            | Command::Maintenance { service, .. }
            | Command::Readmit { service, .. } => service,
        }
    }
}

/// One output of the decision core, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// Persist (compare-and-swap on the epoch) then enact; its epoch is strictly greater than before.
    Commit(Committed),
    /// Tell operators / logs.
    Event(Event),
}
