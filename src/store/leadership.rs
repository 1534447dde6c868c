//! [`Leadership`]: what [`super::Election::campaign`] hands the leader, and what fences its
//! commits.

use crate::model::NodeId;
use tokio_util::sync::CancellationToken;

/// A token that orders leaderships: a later leader's fence is higher (etcd: the revision at
/// which its leadership key was created; embedded: always 1, there is only one leader).
pub type Fence = u64;

/// This node leads until [`Leadership::lost`] resolves; commits are made under it.
#[derive(Clone, Debug)]
pub struct Leadership {
    node: NodeId,
    fence: Fence,
    lost: CancellationToken,
}

impl Leadership {
    /// A leadership of `node` with `fence`; cancelling `lost` ends it.
    pub fn new(node: NodeId, fence: Fence, lost: CancellationToken) -> Self {
        Self { node, fence, lost }
    }

    /// The leader.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Its fence token.
    pub fn fence(&self) -> Fence {
        self.fence
    }

    /// Resolves when the leadership is lost (lease expired, resigned, store closed).
    pub async fn lost(&self) {
        self.lost.cancelled().await;
    }

    /// Whether it is already lost.
    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// End it (the store calls this when it learns the leadership is gone).
    pub fn end(&self) {
        self.lost.cancel();
    }
}
