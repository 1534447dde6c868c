//! Filtering before the tally: signature, allowed voter, domain, sequence, staleness.
//!
//! Only what passes here reaches [`super::Tally`]; callers count drops by [`Rejected::label`].

use super::signed::{self, SignedObservation};
use crate::config::Voter;
use crate::model::{DomainId, NodeId, Observation, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why an observation was dropped before the tally; every variant names the peer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No configured key produced this signature.
    #[error("observation from {node}: bad signature")]
    BadSignature {
        /// The node the observation claims to be from.
        node: NodeId,
    },
    /// The node is not in `votes.voters`.
    #[error("observation from {node}: not an allowed voter")]
    UnknownVoter {
        /// The unknown node.
        node: NodeId,
    },
    /// The sequence number is not newer than the last accepted one (replay, duplicate or reorder).
    #[error("observation from {node}: seq {seq} is not newer than {last}")]
    Replayed {
        /// The sender.
        node: NodeId,
        /// The sequence number received.
        seq: u64,
        /// The last accepted sequence number.
        last: u64,
    },
    /// Older than `stale_after` on arrival.
    #[error("observation from {node}: stale by {age:?}")]
    Stale {
        /// The sender.
        node: NodeId,
        /// How old it was at arrival.
        age: Duration,
    },
    /// Timestamped further in the future than `stale_after` (clock skew or forgery).
    #[error("observation from {node}: {skew:?} in the future")]
    FromFuture {
        /// The sender.
        node: NodeId,
        /// How far ahead of our clock.
        skew: Duration,
    },
    /// The observation claims a failure domain other than the configured one.
    #[error("observation from {node}: domain {claimed} but configured {configured}")]
    DomainMismatch {
        /// The sender.
        node: NodeId,
        /// The domain it claims.
        claimed: DomainId,
        /// The domain in `votes.voters`.
        configured: DomainId,
    },
}

impl Rejected {
    /// A stable metric label for counting drops by reason.
    pub fn label(&self) -> &'static str {
        match self {
            Rejected::BadSignature { .. } => "bad_signature",
            Rejected::UnknownVoter { .. } => "unknown_voter",
            Rejected::Replayed { .. } => "replayed",
            Rejected::Stale { .. } => "stale",
            Rejected::FromFuture { .. } => "from_future",
            Rejected::DomainMismatch { .. } => "domain_mismatch",
        }
    }

    /// The peer the observation claimed to come from.
    pub fn node(&self) -> &NodeId {
        match self {
            Rejected::BadSignature { node }
            | Rejected::UnknownVoter { node }
            | Rejected::Replayed { node, .. }
            | Rejected::Stale { node, .. }
            | Rejected::FromFuture { node, .. }
            | Rejected::DomainMismatch { node, .. } => node,
        }
    }
}

/// Checks signed observations against the shared keys, the voter list and each node's last sequence.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: Vec<Vec<u8>>,
    voters: BTreeMap<NodeId, DomainId>,
    stale_after: Duration,
    last_seq: BTreeMap<NodeId, u64>,
}

impl Verifier {
    /// A verifier for these keys (any verifies) and voters; `stale_after` also bounds future skew.
    pub fn new(keys: Vec<Vec<u8>>, voters: &[Voter], stale_after: Duration) -> Self {
        Verifier {
            keys,
            voters: voters
                .iter()
                .map(|v| (v.id.clone(), v.domain.clone()))
                .collect(),
            stale_after,
            last_seq: BTreeMap::new(),
        }
    }

    /// Sign an observation with `key` (probes use the first configured key).
    pub fn sign(key: &[u8], obs: &Observation) -> SignedObservation {
        signed::sign(key, None, obs)
    }

    /// Sign and name the key's index, so the verifier tries only that key.
    pub fn sign_with_id(key: &[u8], key_id: u32, obs: &Observation) -> SignedObservation {
        signed::sign(key, Some(key_id), obs)
    }

    /// Verify a signed observation arriving at `now`; on success it is new, fresh and from a voter.
    pub fn verify(
        &mut self,
        s: &SignedObservation,
        now: Timestamp,
    ) -> Result<Observation, Rejected> {
        let node = &s.observation.node;
        if !self.voters.contains_key(node) {
            return Err(Rejected::UnknownVoter { node: node.clone() });
        }
        let good = match s.key_id {
            Some(id) => self
                .keys
                .get(id as usize)
                .is_some_and(|k| signed::check(k, s)),
            None => self.keys.iter().any(|k| signed::check(k, s)),
        };
        if !good {
            return Err(Rejected::BadSignature { node: node.clone() });
        }
        self.admit(&s.observation, now)?;
        Ok(s.observation.clone())
    }

    /// The checks after the signature: voter, domain, future skew, sequence, staleness.
    ///
    /// Records the sequence number on success. For observations whose origin is vouched for
    /// otherwise; the simulator (`tests/policy/sim`) calls it to skip the HMAC cost.
    pub fn admit(&mut self, obs: &Observation, now: Timestamp) -> Result<(), Rejected> {
        let node = &obs.node;
        let Some(configured) = self.voters.get(node) else {
            return Err(Rejected::UnknownVoter { node: node.clone() });
        };
        if &obs.domain != configured {
            return Err(Rejected::DomainMismatch {
                node: node.clone(),
                claimed: obs.domain.clone(),
                configured: configured.clone(),
            });
        }
        let skew = obs.at.since(now);
        if skew > self.stale_after {
            return Err(Rejected::FromFuture {
                node: node.clone(),
                skew,
            });
        }
        // A sequence already passed is a replay whatever its age (the more telling reason).
        if let Some(&last) = self.last_seq.get(node)
            && obs.seq <= last
        {
            return Err(Rejected::Replayed {
                node: node.clone(),
                seq: obs.seq,
                last,
            });
        }
        let age = now.since(obs.at);
        if age >= self.stale_after {
            return Err(Rejected::Stale {
                node: node.clone(),
                age,
            });
        }
        self.last_seq.insert(node.clone(), obs.seq);
        Ok(())
    }

    /// The last accepted sequence number of a node.
    pub fn last_seq(&self, node: &NodeId) -> Option<u64> {
        self.last_seq.get(node).copied()
    }
}
