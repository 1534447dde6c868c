//! [`Standing`]: this node's place in the cluster as its store sees it — reachable or cut off,
//! and who leads. Published on a `watch` channel (status, readiness, metrics, DNS withdrawal,
//! alerts).

use crate::model::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

/// Who leads, as the leader announces itself in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The leading node.
    pub node: NodeId,
    /// Its admin URL, where other authorities forward operator commands.
    pub admin: Option<String>,
}

/// This node's standing in the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// The store is a cluster (etcd); an embedded store is always its own leader.
    pub cluster: bool,
    /// Cut off from the store since then (wall clock): answers are the last committed ones.
    pub stale_since: Option<Timestamp>,
    /// The current leader, when known.
    pub leader: Option<LeaderInfo>,
}

impl Standing {
    /// The standing of a single-process store: never stale, no other leader.
    pub fn single() -> Self {
        Self::default()
    }

    /// Whether this node is cut off from the store.
    pub fn is_stale(&self) -> bool {
        self.stale_since.is_some()
    }
}
