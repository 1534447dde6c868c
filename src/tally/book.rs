//! The latest verified observation per probe node, and quorum arithmetic over the counting ones.
//!
//! A vote *counts* when its node is a configured voter, it is younger than `stale_after` at `now`
//! and its self-check passed. Stale votes drop out by themselves; abstainers are set aside.

use crate::config::Voter;
use crate::model::{DomainId, Health, NodeId, Observation, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How one node's latest observation stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteState {
    /// Fresh, self-check passed: it counts.
    Counting,
    /// Fresh, but its own uplink check failed: set aside.
    Abstaining,
    /// Older than `stale_after`: set aside.
    Stale,
}

/// What [`Tally::record`] did with an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Not newer than the node's latest (or not a voter): ignored.
    Ignored,
    /// Stored as the node's latest.
    Stored {
        /// Anything but `seq`/`at` differs from the previous one (or there was none).
        view_changed: bool,
        /// The self-check flipped (or first sight of an abstaining node): `Some(self_ok)`.
        self_ok_changed: Option<bool>,
    },
}

/// Votes for one question ("is site X down for service Y?") among counting probes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Counting probes that say up.
    pub up: usize,
    /// Counting probes that say down.
    pub down: usize,
    /// Counting probes that cannot say.
    pub unknown: usize,
    /// Distinct failure domains among the up votes (bit per domain index).
    pub up_domains: DomainSet,
    /// Distinct failure domains among the down votes.
    pub down_domains: DomainSet,
}

/// A small set of failure domains as bits; domains past the 128th share the last bit (undercounts, never overcounts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainSet(u128);

impl DomainSet {
    /// Add the domain with this index.
    pub fn insert(&mut self, index: usize) {
        self.0 |= 1u128 << index.min(127);
    }

    /// How many distinct domains.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// No domain at all.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl Count {
    /// Add one counting vote from a domain.
    pub fn add(&mut self, health: Health, domain: usize) {
        match health {
            Health::Up => {
                self.up += 1;
                self.up_domains.insert(domain);
            }
            Health::Down => {
                self.down += 1;
                self.down_domains.insert(domain);
            }
            Health::Unknown => self.unknown += 1,
        }
    }

    /// All counting votes.
    pub fn total(&self) -> usize {
        self.up + self.down + self.unknown
    }

    /// Whether `quorum` down votes from `min_domains` domains agree.
    pub fn down_quorum(&self, quorum: usize, min_domains: usize) -> bool {
        self.down >= quorum.max(1) && self.down_domains.len() >= min_domains
    }

    /// Whether `quorum` up votes from `min_domains` domains agree.
    pub fn up_quorum(&self, quorum: usize, min_domains: usize) -> bool {
        self.up >= quorum.max(1) && self.up_domains.len() >= min_domains
    }

    /// The quorum verdict: Down when a down quorum agrees, else Up when an up quorum agrees, else Unknown.
    ///
    /// Down wins a tie of two quorums (possible only when `quorum` is at most half the voters):
    /// a site some quorum sees down is never a switch target, and leaving it is what the rule asks.
    pub fn verdict(&self, quorum: usize, min_domains: usize) -> Health {
        if self.down_quorum(quorum, min_domains) {
            Health::Down
        } else if self.up_quorum(quorum, min_domains) {
            Health::Up
        } else {
            Health::Unknown
        }
    }
}

/// One voter's slot: its configured domain and latest observation.
#[derive(Clone, Debug)]
struct Slot {
    domain: usize,
    latest: Option<Observation>,
}

/// The latest verified observation of each configured voter.
#[derive(Clone, Debug)]
pub struct Tally {
    stale_after: Duration,
    slots: BTreeMap<NodeId, Slot>,
    domains: Vec<DomainId>,
}

impl Tally {
    /// An empty tally for these voters.
    pub fn new(voters: &[Voter], stale_after: Duration) -> Self {
        let mut domains: Vec<DomainId> = voters.iter().map(|v| v.domain.clone()).collect();
        domains.sort();
        domains.dedup();
        let slots = voters
            .iter()
            .map(|v| {
                let domain = domains.binary_search(&v.domain).unwrap_or(0);
                (
                    v.id.clone(),
                    Slot {
                        domain,
                        latest: None,
                    },
                )
            })
            .collect();
        Tally {
            stale_after,
            slots,
            domains,
        }
    }

    /// How long a vote stays fresh.
    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    /// Store a verified observation if it is newer than the node's latest.
    pub fn record(&mut self, obs: Observation) -> Recorded {
        let Some(slot) = self.slots.get_mut(&obs.node) else {
            return Recorded::Ignored;
        };
        let (view_changed, self_ok_changed) = match &slot.latest {
            Some(old) if old.seq >= obs.seq => return Recorded::Ignored,
            Some(old) => (
                old.self_ok != obs.self_ok
                    || old.self_detail != obs.self_detail
                    || old.sites != obs.sites
                    || old.services != obs.services
                    || old.gates != obs.gates,
                (old.self_ok != obs.self_ok).then_some(obs.self_ok),
            ),
            None => (true, (!obs.self_ok).then_some(false)),
        };
        slot.latest = Some(obs);
        Recorded::Stored {
            view_changed,
            self_ok_changed,
        }
    }

    /// The latest observation of a node, whatever its state.
    pub fn latest(&self, node: &NodeId) -> Option<&Observation> {
        self.slots.get(node).and_then(|s| s.latest.as_ref())
    }

    /// Every voter with its domain and latest observation (None: never heard).
    pub fn voters(&self) -> impl Iterator<Item = (&NodeId, &DomainId, Option<&Observation>)> {
        self.slots.iter().map(|(id, s)| {
            let domain = &self.domains[s.domain.min(self.domains.len().saturating_sub(1))];
            (id, domain, s.latest.as_ref())
        })
    }

    /// How an observation stands at `now`.
    pub fn state_of(&self, obs: &Observation, now: Timestamp) -> VoteState {
        if now.since(obs.at) >= self.stale_after {
            VoteState::Stale
        } else if !obs.self_ok {
            VoteState::Abstaining
        } else {
            VoteState::Counting
        }
    }

    /// The counting observations at `now`, each with its domain index.
    pub fn counting(&self, now: Timestamp) -> impl Iterator<Item = (&Observation, usize)> {
        self.slots.values().filter_map(move |s| {
            let obs = s.latest.as_ref()?;
            (self.state_of(obs, now) == VoteState::Counting).then_some((obs, s.domain))
        })
    }

    /// Count the counting votes at `now` for one question.
    pub fn count(&self, now: Timestamp, mut vote: impl FnMut(&Observation) -> Health) -> Count {
        let mut c = Count::default();
        for (obs, domain) in self.counting(now) {
            c.add(vote(obs), domain);
        }
        c
    }

    /// Whether the counting probes could reach `quorum` from `min_domains` domains at all.
    pub fn quorum_possible(&self, now: Timestamp, quorum: usize, min_domains: usize) -> bool {
        let mut n = 0;
        let mut domains = DomainSet::default();
        for (_, d) in self.counting(now) {
            n += 1;
            domains.insert(d);
        }
        n >= quorum.max(1) && domains.len() >= min_domains
    }

    /// The next instant after `now` at which a fresh observation turns stale (a re-evaluation point).
    pub fn next_expiry(&self, now: Timestamp) -> Option<Timestamp> {
        self.slots
            .values()
            .filter_map(|s| s.latest.as_ref())
            .map(|o| o.at.add(self.stale_after))
            .filter(|t| *t > now)
            .min()
    }
}
