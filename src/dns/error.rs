//! The DNS module's error boundary: every variant names where it happened.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::zonefile::ZoneFileError;

/// Why the DNS authority could not start, apply a view, or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A zone file could not be loaded.
    #[error(transparent)]
    Zone(#[from] ZoneFileError),
    /// A listen address could not be bound.
    #[error("dns: cannot bind {proto} {addr}: {source}")]
    Bind {
        /// `udp` or `tcp`.
        proto: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The persisted SOA serial state could not be read or written.
    #[error("dns: serial state {}: {problem}", path.display())]
    SerialState {
        /// The state file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A service's configuration cannot be served (e.g. its name is a static record).
    #[error("dns: service {service}: name {name}: {problem}")]
    Service {
        /// The service id.
        service: String,
        /// The DNS name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A TSIG key could not be used.
    #[error("dns: tsig key {name} ({}): {problem}", file.display())]
    Tsig {
        /// The key name.
        name: String,
        /// The secret file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Building a zone snapshot failed (a bug or impossible data), naming the zone.
    #[error("dns: zone {zone}: {problem}")]
    Snapshot {
        /// The zone origin.
        zone: String,
        /// What went wrong.
        problem: String,
    },
    /// A serving task failed.
    #[error("dns: {task} on {addr}: {source}")]
    Serve {
        /// Which loop.
        task: &'static str,
        /// Its address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}
