//! Probe: checks at the app, host and link layers, rise/fall, self-checks, observations.
//!
//! # Layout
//!
//! - [`defs`]: `probes/*.toml` → typed [`defs::CheckDef`]s, every problem as `file:line: key: problem`.
//! - [`machine`], [`window`], [`schedule`]: the pure parts — rise/fall hysteresis, link-layer
//!   window statistics, when a check runs next.
//! - `kinds`: one attempt of each kind over shared resources (pooled HTTP, one ICMP socket per
//!   family, one rtnetlink link-event subscription).
//! - [`summary`]: check states → per site/layer, per service and gate health → an
//!   [`Observation`](crate::model::Observation).
//! - [`events`]: the typed log events (check changed, abstaining, voting).
//! - [`Prober`]: one task per check (tokio tasks, not threads) reporting over a bounded channel
//!   to one aggregator, which keeps [`CheckStatus`] and sends observations on every change and
//!   as a heartbeat.
//! - [`run_once`]: every check once, as a table, for `switchback probe --once`.
//!
//! # Deployment
//!
//! ICMP needs no privilege when `net.ipv4.ping_group_range` covers the service's gid (it is
//! per network namespace; the default `1 0` allows nobody), else CAP_NET_RAW for raw
//! sockets. [`Prober::new`] refuses to start, naming the check, when neither works. `iface`
//! checks need only the rtnetlink link multicast group, which any user may join. Each exec
//! check runs in its own process group with the check's timeout; at most 32 run at once.

pub mod defs;
pub mod events;
pub mod evidence;
mod kinds;
pub mod machine;
mod once;
mod prober;
pub mod schedule;
mod status;
pub mod summary;
mod task;
pub mod window;

pub use kinds::iface::{LinkState, LinkTable};
pub use once::{OnceReport, OnceRow, run_once};
pub use prober::Prober;
pub use status::{CheckStatus, StateChange, StatusHandle};

use crate::model::{CheckName, SiteId};
use std::path::PathBuf;

/// Why the prober cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Neither an unprivileged ICMP socket nor a raw one could be opened.
    #[error(
        "check {check}: cannot open an {family} ICMP socket: unprivileged datagram socket failed ({dgram}; \
         allow our gid in net.ipv4.ping_group_range) and raw socket failed ({raw}; needs CAP_NET_RAW)"
    )]
    IcmpUnavailable {
        /// The first check that needs it.
        check: CheckName,
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// Why the datagram socket failed.
        dgram: String,
        /// Why the raw socket failed.
        raw: String,
    },
    /// The shared ICMP client could not be created at run time.
    #[error("{family} ICMP client: {source}")]
    IcmpClient {
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The rtnetlink link monitor (for `iface` checks) failed.
    #[error("netlink: {what}: {reason}")]
    Netlink {
        /// What was being done.
        what: &'static str,
        /// The error text.
        reason: String,
    },
    /// An HTTP client could not be built.
    #[error("check {check}: HTTP client: {reason}")]
    HttpClient {
        /// The check whose TLS settings failed.
        check: CheckName,
        /// The error text.
        reason: String,
    },
    /// A `ca_file` could not be read or parsed.
    #[error("check {check}: ca_file {}: {reason}", path.display())]
    CaFile {
        /// The check naming it.
        check: CheckName,
        /// The resolved path.
        path: PathBuf,
        /// The error text.
        reason: String,
    },
    /// A check names a site missing from the node config.
    #[error("{}:{line}: check {check}: site {site} is not in the config's [sites]", file.display())]
    UnknownSite {
        /// The check.
        check: CheckName,
        /// The site named.
        site: SiteId,
        /// The probes file.
        file: PathBuf,
        /// The check's line.
        line: usize,
    },
}
