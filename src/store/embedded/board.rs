//! The embedded vote board: the latest signed vote per node, in memory, each with an expiry.
//!
//! Votes are not persisted: after a restart probes publish again within one heartbeat, and a
//! vote older than `stale_after` would not count anyway. Expired votes are dropped when the
//! board is next touched (and reported as [`VoteChange::Expired`]).

use crate::model::NodeId;
use crate::store::{VoteChange, VoteWatch};
use crate::tally::SignedObservation;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How many changes a watcher may fall behind before it must watch again.
const BACKLOG: usize = 4096;

/// Latest vote per node and the change stream.
#[derive(Debug)]
pub(crate) struct Board {
    votes: Mutex<BTreeMap<NodeId, (SignedObservation, Instant)>>,
    changes: broadcast::Sender<VoteChange>,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            votes: Mutex::default(),
            changes: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, (SignedObservation, Instant)>> {
        // Plain map updates cannot be left half-done by a panic.
        self.votes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drop expired votes, announcing each.
    fn expire(&self, votes: &mut BTreeMap<NodeId, (SignedObservation, Instant)>, now: Instant) {
        let gone: Vec<NodeId> = votes
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for node in gone {
            votes.remove(&node);
            // Nobody watching is fine.
            let _ = self.changes.send(VoteChange::Expired(node));
        }
    }

    pub(crate) fn publish(&self, vote: &SignedObservation, ttl: Duration) {
        let now = Instant::now();
        let mut votes = self.lock();
        self.expire(&mut votes, now);
        votes.insert(vote.observation.node.clone(), (vote.clone(), now + ttl));
        let _ = self.changes.send(VoteChange::Put(vote.clone()));
    }

    pub(crate) fn watch(&self) -> VoteWatch {
        let mut votes = self.lock();
        // Subscribe under the lock: no publish can fall between the snapshot and the stream.
        let changes = self.changes.subscribe();
        self.expire(&mut votes, Instant::now());
        VoteWatch {
            current: votes.values().map(|(v, _)| v.clone()).collect(),
            changes,
        }
    }
}
