//! [`StoreError`]: every way the store can fail, each naming the file (or key) involved.

use crate::model::{Epoch, NodeId, ServiceId};
use std::path::PathBuf;

/// A store failure; variants carry the path, line or service they are about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (open, write, fsync, rename, ...).
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the state directory (two authorities on one store: refused).
    #[error("{path}: locked by another switchback process: {source}")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The flock error.
        source: nix::errno::Errno,
    },
    /// A committed decision file does not parse or does not match its name; never reset silently.
    #[error("{path}: corrupt decision file: {detail}")]
    CorruptDecision {
        /// The decision file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A line of the audit log other than a torn last line does not parse.
    #[error("{path}:{line}: corrupt audit record: {detail}")]
    CorruptAudit {
        /// The audit log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        detail: String,
    },
    /// A commit lost the compare-and-swap: the stored epoch is not lower.
    #[error("service {service}: commit at epoch {offered} fenced by stored epoch {stored}")]
    Fenced {
        /// The service.
        service: ServiceId,
        /// The epoch already stored.
        stored: Epoch,
        /// The epoch that was offered.
        offered: Epoch,
    },
    /// A commit under a leadership that has been lost: a deposed leader's late write.
    #[error("service {service}: commit refused, {node} no longer leads")]
    Deposed {
        /// The service.
        service: ServiceId,
        /// The node whose leadership is gone.
        node: NodeId,
    },
    /// A store kind this build does not have.
    #[error("{0} is not supported by this build")]
    Unsupported(&'static str),
    /// A service id that cannot be used as a file name.
    #[error(
        "service {service:?}: name not usable as a file name (want [A-Za-z0-9_-][A-Za-z0-9._-]*)"
    )]
    BadServiceName {
        /// The offending id.
        service: ServiceId,
    },
    /// A record could not be serialized (should not happen for our own types).
    #[error("{path}: cannot encode record: {source}")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// The serde error.
        source: serde_json::Error,
    },
    /// An etcd request failed.
    #[cfg(feature = "etcd")]
    #[error("etcd: {op} {key}: {source}")]
    Etcd {
        /// What was being done (get, txn, grant, campaign, ...).
        op: &'static str,
        /// The key (or prefix) involved.
        key: String,
        /// The client's error.
        source: etcd_client::Error,
    },
    /// An etcd request got no answer in time (`store.request_timeout`).
    #[error("etcd: {op} {key}: no answer within {after:?}")]
    Timeout {
        /// What was being done.
        op: &'static str,
        /// The key (or prefix) involved.
        key: String,
        /// The timeout.
        after: std::time::Duration,
    },
    /// A value in etcd does not parse as what its key holds; never reset silently.
    #[error("etcd key {key}: {detail}")]
    CorruptKey {
        /// The key.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The blocking I/O worker died (runtime shutting down).
    #[error("store worker: {0}")]
    Worker(String),
}
