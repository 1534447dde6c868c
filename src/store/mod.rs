//! Store: the seams between the nodes of a cluster — votes, leadership, committed decisions,
//! the audit log — as four small traits, each implemented by every store kind.
//!
//! - [`VoteBoard`]: signed observations by probe node, each alive for a time to live (a dead
//!   probe's vote expires by itself); watched as the current set plus every later change.
//! - [`Election`]: campaign for leadership; a [`Leadership`] carries a fence token and says
//!   when it is lost.
//! - [`DecisionStore`]: every service's [`ServiceRecord`]; commits are fenced by the
//!   leadership and compare-and-swap on the epoch ([`may_replace`]), so a deposed leader's
//!   late write fails; watched by every authority.
//! - [`AuditLog`]: typed audit records appended durably; history newest first.
//!
//! [`embedded::EmbeddedStore`] implements all four in one process (its `flock` on
//! `state_dir` already makes it the only leader). One battery of tests (`battery`, the
//! `store_battery!` macro) runs against every implementation, one `#[test]` per case.

#[cfg(test)]
#[macro_use]
pub(crate) mod battery;

pub mod embedded;
mod error;
#[cfg(feature = "etcd")]
pub mod etcd;
mod history;
mod leadership;
pub mod roster;
mod standing;
mod votes;

pub use embedded::{EmbeddedStore, Recovery};
pub use error::StoreError;
#[cfg(feature = "etcd")]
pub use etcd::{EtcdSettings, EtcdStore};
pub use history::HistoryQuery;
pub use leadership::{Fence, Leadership};
pub use roster::{AuthorityRecord, Member, Members, Roster};
pub use standing::{LeaderInfo, Standing};
pub use votes::{VoteChange, VoteWatch};

use crate::config::{Config, StoreSection};
use crate::model::{NodeId, ServiceId, ServiceRecord};
use crate::policy::AuditRecord;
use crate::tally::SignedObservation;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Every service's committed record, as one authority currently knows it.
pub type Records = Arc<BTreeMap<ServiceId, ServiceRecord>>;

/// Signed votes, the latest per probe node, each expiring unless renewed.
#[async_trait]
pub trait VoteBoard: Send + Sync {
    /// Put `vote` as its node's current vote, replacing the previous one; it expires `ttl`
    /// after this call unless the node publishes again.
    async fn publish(&self, vote: &SignedObservation, ttl: Duration) -> Result<(), StoreError>;

    /// The current (unexpired) votes and every later change. Subscribes before it reads, so
    /// nothing falls between the two; a receiver that lags behind watches again.
    async fn watch_votes(&self) -> Result<VoteWatch, StoreError>;
}

/// Leader election among the authorities.
#[async_trait]
pub trait Election: Send + Sync {
    /// Wait until `node` leads; the leadership stays until [`Leadership::lost`] resolves.
    async fn campaign(&self, node: &NodeId) -> Result<Leadership, StoreError>;

    /// Give leadership up (on shutdown, or to hand over); commits under it fail from now on.
    async fn resign(&self, leadership: &Leadership) -> Result<(), StoreError>;
}

/// Committed records of every service.
#[async_trait]
pub trait DecisionStore: Send + Sync {
    /// Every committed record, by service. Fails (naming the file or key) on corrupt state.
    async fn load(&self) -> Result<BTreeMap<ServiceId, ServiceRecord>, StoreError>;

    /// Durably commit `next` while `leadership` holds: refused with [`StoreError::Deposed`]
    /// once it is lost, and with [`StoreError::Fenced`] unless [`may_replace`] allows it.
    async fn commit(&self, leadership: &Leadership, next: &ServiceRecord)
    -> Result<(), StoreError>;

    /// Commit each of `next` as [`DecisionStore::commit`] would, in order, stopping at the
    /// first refusal; a store may need fewer round trips for many (etcd: one transaction).
    async fn commit_all(
        &self,
        leadership: &Leadership,
        next: &[ServiceRecord],
    ) -> Result<(), StoreError> {
        for record in next {
            self.commit(leadership, record).await?;
        }
        Ok(())
    }

    /// The committed records now and after every commit (by any leader).
    fn watch(&self) -> watch::Receiver<Records>;
}

/// The audit log: every input and output of the decision core, in order.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Durably append records in order; one flush for the batch, so a step's records cost
    /// one disk flush.
    async fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError>;

    /// Records newest first, optionally about one service, at most `limit`.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The four seams of one store, as the node hands them out.
#[derive(Clone)]
pub struct Stores {
    /// Signed votes.
    pub votes: Arc<dyn VoteBoard>,
    /// Leader election.
    pub election: Arc<dyn Election>,
    /// Committed records.
    pub decisions: Arc<dyn DecisionStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
    /// This node's standing in the cluster (never stale for a single-process store).
    pub standing: watch::Receiver<Standing>,
    /// Every authority's record (an embedded store's: just this node's).
    pub roster: Roster,
}

impl Stores {
    /// All four seams from one store that implements them all.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: VoteBoard + Election + DecisionStore + AuditLog + 'static,
    {
        Stores {
            votes: store.clone(),
            election: store.clone(),
            decisions: store.clone(),
            audit: store,
            standing: watch::channel(Standing::single()).1,
            roster: Roster::default(),
        }
    }

    /// Open the store `[store]` configures. `admin` is this node's admin URL as bound (what a
    /// cluster store announces while this node leads, unless `[store] advertise` says).
    pub async fn open(cfg: &Config, admin: Option<String>) -> Result<Self, StoreError> {
        match &cfg.store {
            StoreSection::Embedded => {
                let store = EmbeddedStore::open(&cfg.node.state_dir)?;
                store.rotate_audit(cfg.audit.max_size, cfg.audit.keep);
                Ok(Stores::of(Arc::new(store)))
            }
            #[cfg(feature = "etcd")]
            StoreSection::Etcd {
                endpoints,
                prefix,
                lease_ttl,
                options,
            } => {
                let settings = EtcdSettings {
                    endpoints: endpoints.clone(),
                    prefix: prefix.clone(),
                    lease_ttl: *lease_ttl,
                    options: options.clone(),
                };
                let advertise = options.advertise.clone().or(admin);
                let store = EtcdStore::open(&settings, advertise, &cfg.node.state_dir).await?;
                store.rotate_audit(cfg.audit.max_size, cfg.audit.keep);
                let standing = store.standing();
                let roster = store.roster();
                Ok(Stores {
                    standing,
                    roster,
                    ..Stores::of(Arc::new(store))
                })
            }
            #[cfg(not(feature = "etcd"))]
            StoreSection::Etcd { .. } => {
                let _ = admin;
                Err(StoreError::Unsupported(
                    "store kind \"etcd\" (built without feature etcd)",
                ))
            }
        }
    }
}

/// The compare-and-swap rule shared by every store: may `next` replace `stored`? Only with a
/// higher epoch, or at the same epoch with the very same decision (a change of operator state
/// or serving health only); otherwise [`StoreError::Fenced`].
pub fn may_replace(stored: Option<&ServiceRecord>, next: &ServiceRecord) -> Result<(), StoreError> {
    let allowed = match stored {
        None => true,
        Some(old) => {
            let (old, new) = (&old.committed.decision, &next.committed.decision);
            old.epoch < new.epoch || (old.epoch == new.epoch && old == new)
        }
    };
    if allowed {
        return Ok(());
    }
    Err(StoreError::Fenced {
        service: next.service().clone(),
        stored: stored.map(ServiceRecord::epoch).unwrap_or_default(),
        offered: next.epoch(),
    })
}
