//! The roster: every authority announces a small record of itself (node, admin URL, the epoch
//! its enactors applied per service, stale flag, version), and every authority sees them all,
//! so any one's status shows who leads, each one's epoch and staleness.
//!
//! A cluster store keeps each record under a lease of its node (`P/authorities/<node>`), put
//! when the record changes and otherwise only kept alive; an authority whose lease expired
//! (dead, or cut off from etcd) stays in the others' view marked `gone` until it returns (a
//! node started later never heard of it and does not list it). An authority's own entry is
//! always its own latest record, so one cut off from etcd shows its last view of the others
//! and itself as stale. An embedded store's roster is just this node.

use crate::model::{Epoch, NodeId, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

/// One authority as it announces itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityRecord {
    /// The node.
    pub node: NodeId,
    /// Its admin URL.
    pub admin: Option<String>,
    /// Per service, the epoch every enactor of this node has applied (the lowest of them).
    pub epochs: BTreeMap<ServiceId, Epoch>,
    /// Cut off from the store since then: it answers its last committed view.
    pub stale_since: Option<Timestamp>,
    /// The switchback version it runs.
    pub version: String,
}

/// One roster entry: the record as last seen, and whether it is gone from the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// What it last announced.
    #[serde(flatten)]
    pub record: AuthorityRecord,
    /// Its record expired (or was deleted) since this node saw it.
    pub gone: bool,
}

/// Every authority this node knows of, by node.
pub type Members = Arc<BTreeMap<NodeId, Member>>;

/// This node's roster: where it announces itself and sees the others.
#[derive(Clone, Debug)]
pub struct Roster {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// This node's own record, as last announced (what a cluster store publishes).
    mine: watch::Sender<Option<AuthorityRecord>>,
    /// Every authority, this node's own entry overlaid with `mine`.
    view: watch::Sender<Members>,
}

impl Default for Roster {
    fn default() -> Self {
        Self {
            inner: Arc::new(Shared {
                mine: watch::channel(None).0,
                view: watch::channel(Members::default()).0,
            }),
        }
    }
}

impl Roster {
    /// Announce this node's record (a no-op when unchanged).
    pub fn announce(&self, record: AuthorityRecord) {
        let changed = self.inner.mine.send_if_modified(|m| {
            let changed = m.as_ref() != Some(&record);
            if changed {
                *m = Some(record);
            }
            changed
        });
        if changed {
            self.inner
                .view
                .send_modify(|v| self.overlay(Arc::make_mut(v)));
        }
    }

    /// Every authority known here, by node.
    pub fn members(&self) -> Members {
        self.inner.view.borrow().clone()
    }

    /// The roster now and after every change.
    pub fn subscribe(&self) -> watch::Receiver<Members> {
        self.inner.view.subscribe()
    }

    #[cfg(feature = "etcd")]
    /// This node's record now and after every announcement (what a store publishes).
    pub(crate) fn mine(&self) -> watch::Receiver<Option<AuthorityRecord>> {
        self.inner.mine.subscribe()
    }

    fn overlay(&self, view: &mut BTreeMap<NodeId, Member>) {
        if let Some(me) = self.inner.mine.borrow().clone() {
            view.insert(
                me.node.clone(),
                Member {
                    record: me,
                    gone: false,
                },
            );
        }
    }

    #[cfg(any(feature = "etcd", test))]
    /// The store read every record anew: those missing from `seen` are gone.
    pub(crate) fn seen_all(&self, seen: Vec<AuthorityRecord>) {
        self.inner.view.send_if_modified(|v| {
            let mut next: BTreeMap<NodeId, Member> = v
                .iter()
                .map(|(n, m)| {
                    let mut m = m.clone();
                    m.gone = true;
                    (n.clone(), m)
                })
                .collect();
            for record in seen {
                next.insert(
                    record.node.clone(),
                    Member {
                        record,
                        gone: false,
                    },
                );
            }
            self.overlay(&mut next);
            let changed = **v != next;
            if changed {
                *v = Arc::new(next);
            }
            changed
        });
    }

    #[cfg(any(feature = "etcd", test))]
    /// The store shows `record` (put).
    pub(crate) fn seen(&self, record: AuthorityRecord) {
        self.inner.view.send_if_modified(|v| {
            let mine = self.is_mine(&record.node);
            let m = Member {
                record,
                gone: false,
            };
            let before = v.get(&m.record.node);
            if mine || before == Some(&m) {
                return false;
            }
            if before.is_none_or(|b| b.gone) {
                tracing::info!(node = %m.record.node, "authority in the roster");
            }
            Arc::make_mut(v).insert(m.record.node.clone(), m);
            true
        });
    }

    #[cfg(any(feature = "etcd", test))]
    /// The store lost `node`'s record (its lease expired or it was deleted).
    pub(crate) fn lost(&self, node: &NodeId) {
        if self.is_mine(node) {
            return;
        }
        self.inner.view.send_if_modified(|v| match Arc::make_mut(v).get_mut(node) {
            Some(m) if !m.gone => {
                tracing::warn!(node = %node, "authority gone from the roster (its record expired)");
                m.gone = true;
                true
            }
            _ => false,
        });
    }

    #[cfg(any(feature = "etcd", test))]
    fn is_mine(&self, node: &NodeId) -> bool {
        self.inner
            .mine
            .borrow()
            .as_ref()
            .is_some_and(|m| &m.node == node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(node: &str, epoch: u64) -> AuthorityRecord {
        AuthorityRecord {
            node: node.into(),
            admin: None,
            epochs: [(ServiceId("crm".into()), Epoch(epoch))].into(),
            stale_since: None,
            version: "0".into(),
        }
    }

    #[test]
    fn own_record_wins_and_lost_members_are_marked_gone() {
        let r = Roster::default();
        r.announce(rec("a1", 2));
        r.seen_all(vec![rec("a1", 1), rec("a2", 2), rec("a3", 2)]);
        let m = r.members();
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[&NodeId::from("a1")].record.epochs.values().next(),
            Some(&Epoch(2))
        );
        r.lost(&"a3".into());
        r.lost(&"a1".into());
        let m = r.members();
        assert!(m[&NodeId::from("a3")].gone);
        assert!(
            !m[&NodeId::from("a1")].gone,
            "this node is never gone to itself"
        );
        r.seen(rec("a3", 3));
        assert!(!r.members()[&NodeId::from("a3")].gone);
        r.seen_all(vec![rec("a1", 2)]);
        let m = r.members();
        assert!(m[&NodeId::from("a2")].gone && m[&NodeId::from("a3")].gone);
    }
}
