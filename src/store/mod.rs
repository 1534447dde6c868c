//! Store: committed decisions, operator state and the audit log.
//!
//! [`Store`] is a small trait of our own so the node does not care where state lives:
//! [`embedded::EmbeddedStore`] keeps it in `state_dir` on local disk (one authority); an etcd
//! store (several authorities) implements the same trait later and runs the same test battery.
//!
//! Commits are compare-and-swap on the epoch: a commit whose epoch is not above the stored one
//! is refused with [`StoreError::Fenced`], so an old leader's late write can never win.

pub mod embedded;
mod error;
mod history;

#[cfg(test)]
pub(crate) mod battery;

pub use embedded::{EmbeddedStore, Recovery};
pub use error::StoreError;
pub use history::HistoryQuery;

use crate::model::{Committed, ServiceId};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Where committed decisions and the audit log live (embedded disk or etcd).
#[async_trait]
pub trait Store: Send + Sync {
    /// Every committed decision, by service. Fails (naming the file or key) on corrupt state.
    async fn load(&self) -> Result<BTreeMap<ServiceId, Committed>, StoreError>;

    /// Durably commit `next`; refused with [`StoreError::Fenced`] unless its epoch is above the
    /// stored one (or equal with the very same decision: an operator-state-only change).
    async fn commit(&self, next: &Committed) -> Result<(), StoreError>;

    /// Durably append audit records (JSON objects, one line each) in order; one fsync for
    /// the batch, so a step's records cost one disk flush.
    async fn append_audit(&self, records: &[serde_json::Value]) -> Result<(), StoreError>;

    /// Audit records, newest first, optionally for one service, at most `limit`.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<serde_json::Value>, StoreError>;
}

/// The CAS rule shared by every store: may `next` replace `stored`?
pub(crate) fn may_replace(stored: Option<&Committed>, next: &Committed) -> bool {
    match stored {
        None => true,
        Some(old) => {
            old.decision.epoch < next.decision.epoch
                || (old.decision.epoch == next.decision.epoch && old.decision == next.decision)
        }
    }
}
