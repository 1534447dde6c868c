//! Read-only views of the decision core for the admin API and the DNS enactor.

use crate::model::{
    CheckName, DecisionKind, DomainId, Epoch, Health, NodeId, ServiceId, SiteId, SiteView,
    Timestamp,
};
pub use crate::model::{Pending, PendingKind};
use crate::tally::VoteState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Votes at one layer of one site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVotes {
    /// Counting probes that see it up.
    pub up: usize,
    /// Counting probes that see it down.
    pub down: usize,
    /// Counting probes that cannot say.
    pub unknown: usize,
}

/// One site of one service as the quorum sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteStatus {
    /// `primary`, `backup` or `arbiter`.
    pub role: String,
    /// Up / Down / Unknown by the quorum rule.
    pub verdict: Health,
    /// Since when the verdict has held (as evaluated).
    pub since: Timestamp,
    /// Counting probes that see it up (combined layers, see the policy module doc).
    pub up: usize,
    /// Counting probes that see it down.
    pub down: usize,
    /// Per layer.
    pub layers: BTreeMap<String, LayerVotes>,
    /// Readiness gates of this service at this site, by quorum.
    pub gates: BTreeMap<CheckName, Health>,
    /// Kept out of automatic choice until re-admitted.
    pub held_out: bool,
}

/// One service's state for `GET /v1/status` and the DNS enactor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service.
    pub service: ServiceId,
    /// Where its names and VIP point.
    pub active_site: SiteId,
    /// The committed epoch.
    pub epoch: Epoch,
    /// The kind of the last decision.
    pub kind: DecisionKind,
    /// `auto`, `confirm` or `manual`.
    pub mode: String,
    /// Automatic decisions frozen.
    pub maintenance: bool,
    /// Sites kept out until re-admitted.
    pub held_out: BTreeSet<SiteId>,
    /// A switch waiting for approval.
    pub pending: Option<Pending>,
    /// Active site not seen up, a switch pending, or flapping: DNS uses `degraded_ttl`.
    pub degraded: bool,
    /// Flap damping suppresses automatic switches (operators can still switch).
    #[serde(default)]
    pub flapping: bool,
    /// Every serving site is down by quorum (Unknown is not down): DNS applies `all_down`.
    pub all_down: bool,
    /// Enough counting probes to reach a verdict.
    pub quorum: bool,
    /// Per serving site.
    pub sites: BTreeMap<SiteId, SiteStatus>,
    /// The last decision's reason.
    pub reason: String,
    /// When the last decision was taken.
    pub decided_at: Timestamp,
}

/// One probe node's standing for `GET /v1/votes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVote {
    /// The probe.
    pub node: NodeId,
    /// Its configured failure domain.
    pub domain: DomainId,
    /// Its latest accepted sequence number.
    pub seq: u64,
    /// When its latest observation was built.
    pub at: Timestamp,
    /// Milliseconds since then.
    pub age_ms: u64,
    /// Counting, abstaining or stale.
    pub state: VoteState,
    /// Why it abstains, if it does.
    pub self_detail: Option<String>,
    /// What it sees per site and layer (the dashboard's vote matrix).
    #[serde(default)]
    pub sites: BTreeMap<SiteId, SiteView>,
}

/// All voters' standing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotesView {
    /// The engine's `now`.
    pub at: Timestamp,
    /// Heard voters.
    pub nodes: Vec<NodeVote>,
    /// Configured voters never heard from.
    pub silent: Vec<NodeId>,
}
