//! [`NodeError`]: why a node could not start or stopped, naming the address, file or task.

use crate::store::StoreError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A node failure.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A listener could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file the node needs could not be read.
    #[error("{key} = {path}: cannot read {what}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The config key that names it.
        key: String,
        /// What it should hold.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The decision loop stopped (a store failure or a lost leadership: the node stops
    /// rather than let the engine and the committed state diverge).
    #[error("decision loop: {0}")]
    Decide(#[from] crate::decide::DecideError),
    /// An enactor could not apply the committed state before serving.
    #[error(transparent)]
    Enact(crate::enact::EnactError),
    /// Serving the admin API failed.
    #[error("admin API on {addr}: {source}")]
    Serve {
        /// Its address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The DNS authority could not start or apply the committed state.
    #[error(transparent)]
    Dns(#[from] crate::dns::DnsError),
    /// The probe role could not start.
    #[error(transparent)]
    ProbeRole(#[from] super::probe_role::ProbeRoleError),
    /// An alert sink's secret file could not be read.
    #[error(transparent)]
    Alert(#[from] crate::alert::SecretError),
    /// A probe-only node has nowhere to send its votes.
    #[error("[votes]: a probe-only node needs authorities and key_files to push observations")]
    NoAuthorities,
    /// Too few file descriptors to keep the probes' share (see `node::descriptors`).
    #[error(transparent)]
    Descriptors(#[from] super::descriptors::DescriptorError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// A task ended while the node was meant to run.
    #[error("a node task ended unexpectedly")]
    TaskEnded,
    /// A task panicked or was cancelled.
    #[error("task: {0}")]
    Join(String),
}
