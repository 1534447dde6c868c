//! What [`super::VoteBoard::watch_votes`] hands out: the current votes and a stream of changes.

use crate::model::NodeId;
use crate::tally::SignedObservation;
use tokio::sync::broadcast;

/// One change on the vote board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteChange {
    /// A node published a new vote.
    Put(SignedObservation),
    /// A node's vote expired (it stopped publishing) or was removed.
    Expired(NodeId),
}

/// The votes at subscription time and every change after it.
#[derive(Debug)]
pub struct VoteWatch {
    /// The unexpired votes when the watch began, one per node.
    pub current: Vec<SignedObservation>,
    /// Later changes, in order; [`broadcast::error::RecvError::Lagged`] means some were
    /// missed: watch again to resynchronise.
    pub changes: broadcast::Receiver<VoteChange>,
}
