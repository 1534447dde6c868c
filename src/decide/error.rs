//! [`DecideError`]: why the decision loop stopped.

use crate::model::NodeId;
use crate::store::StoreError;

/// The decision loop's failures; each ends the node (fail-stop) rather than let the engine
/// and the committed state diverge.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The store failed or refused a commit (deposed, fenced).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// This node's leadership ended while it was deciding.
    #[error("{node} lost its leadership")]
    Lost {
        /// This node.
        node: NodeId,
    },
    /// The vote board closed its stream (the store is gone).
    #[error("the vote board stopped streaming votes")]
    VotesClosed,
}
