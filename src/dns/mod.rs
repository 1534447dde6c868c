//! DNS enactor: the hickory-server authority answering service names from the committed decision.
//!
//! # Layout
//!
//! - [`zonefile`]: RFC 1035 zone files parsed by hickory's master-file parser.
//! - `view`: the rule turning a service's desired state into its answers (`all_down`).
//! - `serial`: SOA serials that never go backwards, persisted in `state_dir`.
//! - `snapshot` / `zone`: immutable zone snapshots (hickory `ZoneHandler`s) swapped atomically.
//! - `hot`: pre-rendered answers for switched names, static A/AAAA and NXDOMAIN (fast path).
//! - `respond`: hickory's Catalog behind the fast path, encoding into our own buffers.
//! - `udp`: blocking threads with recvmmsg/sendmmsg; `tcp`: tokio, idle timeout, transfers.
//! - `xfr` / `tsig` / `journal`: AXFR, incremental IXFR from a journal (full transfer for
//!   unknown serials), allow-list, TSIG on every message, multi-message.
//! - `notify`: NOTIFY to secondaries with retries and backoff.
//! - `server`: [`DnsServer`] (bind, run) and [`DnsHandle`] (apply desired states, counters).

mod conform;
mod error;
#[cfg(test)]
pub(crate) mod fuzz;
mod hot;
mod journal;
mod listen;
mod metrics;
mod notify;
mod respond;
mod serial;
mod server;
mod shared;
mod snapshot;
mod tcp;
mod tsig;
mod udp;
mod view;
mod xfr;
mod zone;
pub mod zonefile;

/// Log filter directives that keep hickory's per-request `info` lines out of a busy server
/// (they cost about 17 % of throughput); append to the node's `EnvFilter`.
pub const QUIET_LOGS: &str = "info,hickory_server=warn,hickory_proto=warn,hickory_net=warn";

pub use error::DnsError;
pub use metrics::DnsCounters;
pub use server::{DnsHandle, DnsServer};
pub use tcp::TCP_CONNECTIONS;
