//! Plain data shared by every stage: typed ids, health, observations, decisions.
//!
//! Nothing here does I/O or reads a clock; time is a [`Timestamp`] passed in.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A data centre, e.g. `bj` (primary) or `sh` (backup).
    SiteId
);
string_id!(
    /// One failover group (e.g. `crm`); each switches on its own.
    ServiceId
);
string_id!(
    /// A switchback node, unique across the cluster.
    NodeId
);
string_id!(
    /// A failure domain; quorum wants probes from several of them.
    DomainId
);
string_id!(
    /// The name of one check in a probes file (used by readiness gates).
    CheckName
);

/// A decision's generation; only ever grows, so an old writer's word loses.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The epoch after this one.
    pub fn next(self) -> Self {
        Epoch(self.0 + 1)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Wall-clock milliseconds since the Unix epoch, passed into the pure cores as `now`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// This instant plus a duration (saturating).
    #[allow(clippy::should_implement_trait)] // a named method keeps the pure cores free of operator imports
    pub fn add(self, d: std::time::Duration) -> Self {
        Timestamp(self.0.saturating_add(d.as_millis() as u64))
    }

    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The current wall-clock time; only I/O code calls this, never the pure cores.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as u64)
    }
}

/// The layer a check measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The service answers (HTTP, TCP, DNS, script).
    App,
    /// The server answers ICMP.
    Host,
    /// The path to the site: gateway loss/latency, interface carrier.
    Link,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::App => "app",
            Layer::Host => "host",
            Layer::Link => "link",
        })
    }
}

/// What a check, layer or site looks like from one vantage point.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Passing (after `rise` successes).
    Up,
    /// Failing (after `fall` failures).
    Down,
    /// Not yet known, or not measured.
    #[default]
    Unknown,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        })
    }
}

/// One site's health per layer as seen by one probe node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    /// Application layer summary over every app check of this site.
    pub app: Health,
    /// Host layer (ICMP to servers).
    pub host: Health,
    /// Link layer (gateways, interfaces).
    pub link: Health,
    /// Every link check of the site is down on definitive evidence (carrier down on the
    /// probe's own path): nothing at the site can answer, whatever the app last said.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    /// Every app and host check of the site has timed out `silence` times in a row (and there
    /// is at least one of each): the site is black-holed, not merely lossy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
}

impl SiteView {
    /// The health of one layer.
    pub fn layer(&self, layer: Layer) -> Health {
        match layer {
            Layer::App => self.app,
            Layer::Host => self.host,
            Layer::Link => self.link,
        }
    }
}

/// What one probe node believes now. Signed on the wire; the tally sees verified ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The probe node that measured.
    pub node: NodeId,
    /// Its failure domain.
    pub domain: DomainId,
    /// Grows by one per observation from this node; replays and reorders are dropped.
    pub seq: u64,
    /// When it was built, by the probe's clock.
    pub at: Timestamp,
    /// False when the probe's own uplink check fails: it abstains.
    pub self_ok: bool,
    /// Why it abstains, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_detail: Option<String>,
    /// Per site, per layer.
    pub sites: BTreeMap<SiteId, SiteView>,
    /// Per service, per site: the app verdict of that service's own checks.
    pub services: BTreeMap<ServiceId, BTreeMap<SiteId, Health>>,
    /// Named checks used as readiness gates, per site.
    #[serde(default)]
    pub gates: BTreeMap<SiteId, BTreeMap<CheckName, Health>>,
}

/// Why a decision was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The first decision for a service: the primary.
    Initial,
    /// Automatic failover after a quorum saw the active site down.
    Failover,
    /// Automatic return to the primary after `failback_hold`.
    Failback,
    /// A pending (confirm-mode) switch that an operator approved, or that proceeded on timeout.
    Confirmed,
    /// An operator's `switch`.
    Operator,
}

/// The one source of truth enactors follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The service this decision is about.
    pub service: ServiceId,
    /// Where its names and VIP point.
    pub active_site: SiteId,
    /// Grows on every decision for this service.
    pub epoch: Epoch,
    /// What kind of decision.
    pub kind: DecisionKind,
    /// Human-readable why: which probes, which layers, which gates.
    pub reason: String,
    /// When it was taken.
    pub at: Timestamp,
}

/// Operator state that persists across restarts beside the decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorState {
    /// Frozen: no automatic decision until turned off.
    #[serde(default)]
    pub maintenance: bool,
    /// Sites kept out of automatic choice until an operator re-admits them.
    #[serde(default)]
    pub held_out: BTreeSet<SiteId>,
}

/// Which way a pending proposal goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingKind {
    /// Away from a down active site.
    Failover,
    /// Back to the recovered primary.
    Failback,
}

/// A confirm-mode switch waiting for approval; committed beside the decision (same epoch), so
/// a restarted node or a new leader resumes it as it was: same time proposed, deadline, reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The proposed site.
    pub to: SiteId,
    /// Failover or failback.
    pub kind: PendingKind,
    /// When it was proposed.
    pub since: Timestamp,
    /// When `on_confirm_timeout` applies.
    pub deadline: Timestamp,
    /// Why it was proposed.
    pub reason: String,
}

/// What is committed for one service: the decision plus durable operator state, flap damping
/// and a pending confirm-mode proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The current decision.
    pub decision: Decision,
    /// Maintenance and held-out sites.
    #[serde(default)]
    pub operator: OperatorState,
    /// Flap damping of automatic switches (see `policy::damping`).
    #[serde(default, skip_serializing_if = "DampingState::is_clear")]
    pub damping: DampingState,
    /// A confirm-mode switch waiting for approval (old records read as none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// The flap-damping figure of one service as of its last automatic switch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DampingState {
    /// The penalty at `at` (it decays with the policy's half-life from then).
    #[serde(default)]
    pub penalty: u32,
    /// When the penalty was last raised.
    #[serde(default)]
    pub at: Timestamp,
    /// The last switch pushed the penalty over `suppress`: automatic switching stops until it
    /// decays below `reuse`.
    #[serde(default)]
    pub suppressed: bool,
}

impl DampingState {
    /// No switch recorded (old records read as this).
    pub fn is_clear(&self) -> bool {
        *self == DampingState::default()
    }
}

/// What the answers depend on besides the decision, as the leader last saw it: derived from
/// the votes, committed beside the decision so every authority answers the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingHealth {
    /// The active site is not seen up, or a switch is pending: answer with `degraded_ttl`.
    #[serde(default)]
    pub degraded: bool,
    /// Serving sites a quorum sees down (a site not yet judged is not down).
    #[serde(default)]
    pub down: BTreeSet<SiteId>,
}

/// Everything committed for one service: the leader's decision and operator state, and the
/// serving health its answers follow. Old decision files (without `health`) still read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The decision and operator state.
    #[serde(flatten)]
    pub committed: Committed,
    /// What the answers depend on besides the decision.
    #[serde(default)]
    pub health: ServingHealth,
}

impl ServiceRecord {
    /// The service this record is about.
    pub fn service(&self) -> &ServiceId {
        &self.committed.decision.service
    }

    /// Its committed epoch.
    pub fn epoch(&self) -> Epoch {
        self.committed.decision.epoch
    }
}
