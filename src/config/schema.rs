//! The validated, typed node configuration every other module reads.
//!
//! Produced by [`super::load`]; fields are plain data so tests can build one directly.

pub use super::alert::{ALERT_KINDS, AlertFilter, AlertSink, Severity, SinkKind};
pub use super::etcd::{EtcdAuth, EtcdOptions, EtcdTls, OnIsolation};
use super::vip::{RouteSection, Vip};
use crate::model::{CheckName, DomainId, NodeId, ServiceId, SiteId};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// A whole node's configuration after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was loaded from (relative paths inside resolve against its folder).
    pub source: PathBuf,
    /// This node.
    pub node: NodeSection,
    /// Where decisions and observations live.
    pub store: StoreSection,
    /// How probe nodes reach authorities and how votes are checked.
    pub votes: VotesSection,
    /// Logging.
    pub log: LogSection,
    /// The DNS authority (authority role).
    pub dns: DnsSection,
    /// The admin HTTP API.
    pub admin: AdminSection,
    /// Sites by id.
    pub sites: BTreeMap<SiteId, Site>,
    /// Services in file order.
    pub services: Vec<Service>,
    /// Alert sinks.
    pub alerts: Vec<AlertSink>,
    /// Audit log rotation.
    pub audit: super::AuditSection,
    /// How the route enactor marks and repairs VIP routes and addresses.
    pub route: RouteSection,
}

/// What this node does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs checks and publishes observations.
    Probe,
    /// Tallies, decides (when leader) and enacts.
    Authority,
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSection {
    /// Unique node id.
    pub id: NodeId,
    /// The site this node stands in.
    pub site: SiteId,
    /// Failure domain (defaults to the site).
    pub domain: DomainId,
    /// Roles this node runs.
    pub roles: Vec<Role>,
    /// Durable state (decisions, audit log, DNS serials, alert spool).
    pub state_dir: PathBuf,
}

/// `[store]`.
// Built once per config load; boxing the etcd options would only complicate every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StoreSection {
    /// One authority, state on local disk.
    Embedded,
    /// Several authorities agreeing through etcd.
    Etcd {
        /// Client URLs of the etcd members.
        endpoints: Vec<String>,
        /// Key prefix for everything switchback writes.
        prefix: String,
        /// TTL of leases (leadership, observations).
        lease_ttl: Duration,
        /// Timeouts, TLS, auth, isolation (see `config::etcd`).
        options: EtcdOptions,
    },
}

/// `[votes]`.
#[derive(Clone, Debug, PartialEq)]
pub struct VotesSection {
    /// Admin URLs of authorities a probe pushes observations to (embedded mode).
    pub authorities: Vec<String>,
    /// Files holding the shared HMAC keys; the first signs, any verifies.
    pub key_files: Vec<PathBuf>,
    /// Observations older than this do not count.
    pub stale_after: Duration,
    /// The probe nodes whose votes count (this node alone when the file lists none); anyone
    /// else's observation is dropped and counted.
    pub voters: Vec<Voter>,
}

/// A probe node allowed to vote.
#[derive(Clone, Debug, PartialEq)]
pub struct Voter {
    /// Its node id.
    pub id: NodeId,
    /// Its failure domain.
    pub domain: DomainId,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSection {
    /// Text or JSON.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info,hickory_server=warn`.
    pub level: String,
}

/// A TSIG key for zone transfers.
#[derive(Clone, Debug, PartialEq)]
pub struct TsigKey {
    /// Key name as on the wire, e.g. `xfr.boss.example.`.
    pub name: String,
    /// e.g. `hmac-sha256`.
    pub algorithm: String,
    /// File holding the base64 secret.
    pub secret_file: PathBuf,
}

/// `[dns]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsSection {
    /// UDP and TCP listen addresses.
    pub listen: Vec<SocketAddr>,
    /// RFC 1035 zone files.
    pub zones: Vec<PathBuf>,
    /// Secondaries to NOTIFY on every change.
    pub notify: Vec<SocketAddr>,
    /// Who may AXFR/IXFR.
    pub allow_transfer: Vec<IpNet>,
    /// TSIG keys; when set, transfers must be signed with one of them.
    pub tsig_keys: Vec<TsigKey>,
    /// The TSIG key NOTIFYs are signed with (a secondary that transfers with a key usually
    /// accepts NOTIFY only with it too); `None` sends them unsigned.
    pub notify_key: Option<String>,
    /// SO_REUSEPORT UDP sockets per listen address.
    pub udp_sockets: usize,
    /// At most one NOTIFY round per secondary this often; serials in between are coalesced.
    pub notify_interval: std::time::Duration,
}

/// `[admin]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminSection {
    /// Where the admin HTTP API listens.
    pub listen: SocketAddr,
    /// File with the bearer token needed for writes.
    pub token_file: Option<PathBuf>,
}

/// A site's role in failover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SiteRole {
    /// Where services live while all is well.
    Primary,
    /// Where they go when the primary fails.
    Backup,
    /// Holds an etcd member and probes; never serves.
    Arbiter,
}

/// `[sites.<id>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Primary, backup or arbiter.
    pub role: SiteRole,
    /// Gateways/edges of the path to this site (link-layer checks).
    pub gateways: Vec<IpAddr>,
}

/// Automatic, confirmed or manual switching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Switch when the rules say so.
    Auto,
    /// Propose, page, wait for `approve`.
    Confirm,
    /// Only operators switch.
    Manual,
}

/// What to do when a confirm-mode proposal is not approved in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmTimeout {
    /// Drop the proposal (and page again).
    Abort,
    /// Switch anyway (and say so).
    Proceed,
}

/// How to return to a recovered primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failback {
    /// Only an operator switches back.
    Manual,
    /// After the primary has been up for `failback_hold`.
    Auto,
}

/// DNS answer when no site is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllDown {
    /// The last active site's addresses.
    Keep,
    /// Every site's addresses.
    All,
    /// NODATA.
    None,
}

/// A service's decision rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Auto, confirm or manual.
    pub mode: Mode,
    /// Counting probes that must agree.
    pub quorum: usize,
    /// Distinct failure domains among them.
    pub min_domains: usize,
    /// How long the quorum must hold before a switch.
    pub hold_down: Duration,
    /// Confirm mode: how long to wait for approval.
    pub confirm_timeout: Duration,
    /// Confirm mode: what happens when nobody approves in time.
    pub on_confirm_timeout: ConfirmTimeout,
    /// Manual or automatic failback.
    pub failback: Failback,
    /// Primary up for this long before automatic failback.
    pub failback_hold: Duration,
    /// Keep a recovered primary out until an operator re-admits it.
    pub hold_out_recovered: bool,
    /// Named checks on the target site that must be up before switching to it.
    pub gates: Vec<CheckName>,
    /// DNS answer when no site is up.
    pub all_down: AllDown,
    /// Flap damping of automatic switches.
    pub damping: super::presets::Damping,
}

/// `[[service]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// Its id.
    pub name: ServiceId,
    /// Fully-qualified DNS names (lower case, trailing dot).
    pub names: Vec<String>,
    /// TTL while all is well.
    pub ttl: Duration,
    /// TTL while degraded or a switch is pending.
    pub degraded_ttl: Duration,
    /// Addresses per site (A and AAAA).
    pub addresses: BTreeMap<SiteId, Vec<IpAddr>>,
    /// Optional VIP moved by the edge router.
    pub vip: Option<Vip>,
    /// The probes file with this service's checks.
    pub probes: PathBuf,
    /// Decision rules.
    pub policy: Policy,
}

impl Service {
    /// Sites that can serve it: not arbiters, and with addresses or a VIP next hop there (in
    /// site id order). The policy judges only these; "all down" means all of these.
    pub fn serving_sites(&self, sites: &BTreeMap<SiteId, Site>) -> Vec<SiteId> {
        sites
            .values()
            .filter(|s| {
                s.role != SiteRole::Arbiter
                    && (self.addresses.contains_key(&s.id)
                        || self
                            .vip
                            .as_ref()
                            .and_then(Vip::next_hop)
                            .is_some_and(|n| n.contains_key(&s.id)))
            })
            .map(|s| s.id.clone())
            .collect()
    }
}

impl Config {
    /// The service with this id.
    pub fn service(&self, id: &ServiceId) -> Option<&Service> {
        self.services.iter().find(|s| &s.name == id)
    }

    /// The primary site (validation guarantees exactly one).
    pub fn primary(&self) -> Option<&SiteId> {
        self.sites
            .values()
            .find(|s| s.role == SiteRole::Primary)
            .map(|s| &s.id)
    }

    /// Whether this node runs a role.
    pub fn has_role(&self, role: Role) -> bool {
        self.node.roles.contains(&role)
    }
}
