//! One test battery for every store: each case is a function here, and [`store_battery!`]
//! makes one `#[tokio::test]` per case for an implementation, e.g. in the embedded store's
//! tests: `store_battery!(Dirs::default());`. An etcd store runs the same cases.
//!
//! A [`Factory`] hands out a fresh, empty store, reopens the same one (a restart), and lets
//! time pass (tokio's paused clock for in-process stores, real time for a real server).

use super::{AuditLog, DecisionStore, Election, HistoryQuery, StoreError, VoteBoard, VoteChange};
use crate::model::{
    Committed, Decision, DecisionKind, Epoch, NodeId, Observation, Pending, PendingKind,
    ServiceRecord, SiteId, Timestamp,
};
use crate::policy::{AuditRecord, Command, Input};
use crate::tally::{SignedObservation, Verifier};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Everything a store under test implements.
pub(crate) trait AnyStore: VoteBoard + Election + DecisionStore + AuditLog {}
impl<T: VoteBoard + Election + DecisionStore + AuditLog> AnyStore for T {}

/// Makes stores for the battery.
#[async_trait]
pub(crate) trait Factory: Send {
    /// A new, empty store.
    async fn fresh(&mut self) -> Arc<dyn AnyStore>;
    /// The last fresh store again, as a restarted node would open it (the old one dropped).
    async fn reopen(&mut self) -> Arc<dyn AnyStore>;
    /// Let `d` pass for the store's timers (vote expiry).
    async fn pass(&mut self, d: Duration);
}

/// Makes one `#[tokio::test]` per battery case for the stores `$factory` builds.
macro_rules! store_battery {
    ($factory:expr) => {
        store_battery!(@cases $factory;
            empty_store_loads_nothing,
            commit_survives_reopen,
            cas_refuses_stale_epochs,
            operator_state_update_at_same_epoch,
            health_update_at_same_epoch,
            pending_proposal_at_same_epoch,
            services_are_independent,
            watch_follows_every_commit,
            deposed_leader_cannot_commit,
            commit_all_commits_many_and_keeps_the_rules,
            history_newest_first_filtered_limited,
            batch_append_keeps_order,
            votes_latest_per_node,
            vote_changes_stream_in_order,
            dead_probe_vote_expires);
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let mut factory = $factory;
                $crate::store::battery::$case(&mut factory).await;
            }
        )*
    };
}

/// A committed decision for tests.
pub(crate) fn committed(service: &str, site: &str, epoch: u64) -> ServiceRecord {
    ServiceRecord {
        committed: Committed {
            decision: Decision {
                service: service.into(),
                active_site: site.into(),
                epoch: Epoch(epoch),
                kind: if epoch == 1 {
                    DecisionKind::Initial
                } else {
                    DecisionKind::Operator
                },
                reason: format!("test epoch {epoch}"),
                at: Timestamp(1_000 + epoch),
            },
            operator: Default::default(),
            damping: Default::default(),
            pending: None,
        },
        health: Default::default(),
    }
}

fn node() -> NodeId {
    NodeId::from("auth-1")
}

/// A signed vote of `node` with no views, at `seq` (also its time).
pub(crate) fn vote(node: &str, seq: u64) -> SignedObservation {
    Verifier::sign(
        b"battery key",
        &Observation {
            node: node.into(),
            domain: "d0".into(),
            seq,
            at: Timestamp(seq),
            self_ok: true,
            self_detail: None,
            sites: BTreeMap::new(),
            services: BTreeMap::new(),
            gates: BTreeMap::new(),
        },
    )
}

fn at(records: &[AuditRecord]) -> Vec<u64> {
    records.iter().map(|r| r.at.0).collect()
}

pub(crate) async fn empty_store_loads_nothing(f: &mut impl Factory) {
    let s = f.fresh().await;
    assert!(s.load().await.unwrap().is_empty());
    assert!(s.watch_records().is_empty());
    assert!(
        s.history(&HistoryQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn commit_survives_reopen(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    s.commit(&lead, &committed("crm", "bj", 1)).await.unwrap();
    s.commit(&lead, &committed("crm", "sh", 2)).await.unwrap();
    drop((s, lead));
    let s = f.reopen().await;
    let all = s.load().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[&"crm".into()], committed("crm", "sh", 2));
    assert_eq!(
        *s.watch_records(),
        all,
        "a watch starts from what is committed"
    );
}

pub(crate) async fn cas_refuses_stale_epochs(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    s.commit(&lead, &committed("crm", "sh", 5)).await.unwrap();
    for stale in [committed("crm", "bj", 4), committed("crm", "bj", 5)] {
        match s.commit(&lead, &stale).await {
            Err(StoreError::Fenced {
                service,
                stored,
                offered,
            }) => {
                assert_eq!(service.as_str(), "crm");
                assert_eq!(stored, Epoch(5));
                assert_eq!(offered, stale.epoch());
            }
            other => panic!("stale commit at {} not fenced: {other:?}", stale.epoch()),
        }
    }
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        committed("crm", "sh", 5)
    );
    drop((s, lead));
    let s = f.reopen().await;
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        committed("crm", "sh", 5)
    );
}

pub(crate) async fn operator_state_update_at_same_epoch(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    let mut c = committed("crm", "bj", 3);
    s.commit(&lead, &c).await.unwrap();
    c.committed.operator.maintenance = true;
    c.committed.operator.held_out.insert("sh".into());
    s.commit(&lead, &c).await.unwrap();
    drop((s, lead));
    let s = f.reopen().await;
    assert_eq!(s.load().await.unwrap()[&"crm".into()], c);
}

pub(crate) async fn health_update_at_same_epoch(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    let mut c = committed("crm", "bj", 3);
    s.commit(&lead, &c).await.unwrap();
    c.health.degraded = true;
    c.health.down.insert(SiteId::from("sh"));
    s.commit(&lead, &c).await.unwrap();
    drop((s, lead));
    let s = f.reopen().await;
    assert_eq!(s.load().await.unwrap()[&"crm".into()], c);
}

/// A confirm-mode proposal is committed beside the decision at the same epoch: durable,
/// watched, fenced like a commit (a deposed leader can neither raise nor clear it), cleared
/// durably.
pub(crate) async fn pending_proposal_at_same_epoch(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    let plain = committed("crm", "bj", 3);
    s.commit(&lead, &plain).await.unwrap();
    let mut proposed = plain.clone();
    proposed.committed.pending = Some(Pending {
        to: "sh".into(),
        kind: PendingKind::Failover,
        since: Timestamp(2_000),
        deadline: Timestamp(62_000),
        reason: "bj down by 2 of 3 probes".into(),
    });
    proposed.health.degraded = true;
    let mut w = s.watch();
    s.commit(&lead, &proposed).await.unwrap();
    w.wait_for(|r| r.get(&"crm".into()) == Some(&proposed))
        .await
        .unwrap();
    drop((s, lead, w));
    let s = f.reopen().await;
    assert_eq!(s.load().await.unwrap()[&"crm".into()], proposed);
    let lead = s.campaign(&node()).await.unwrap();
    s.resign(&lead).await.unwrap();
    lead.lost().await;
    match s.commit(&lead, &plain).await {
        Err(StoreError::Deposed { .. }) => {}
        other => panic!("a deposed leader cleared the proposal: {other:?}"),
    }
    assert_eq!(s.load().await.unwrap()[&"crm".into()], proposed);
    let again = s.campaign(&node()).await.unwrap();
    s.commit(&again, &plain).await.unwrap();
    drop((s, again));
    let s = f.reopen().await;
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        plain,
        "cleared durably"
    );
}

pub(crate) async fn services_are_independent(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    s.commit(&lead, &committed("crm", "sh", 9)).await.unwrap();
    s.commit(&lead, &committed("billing", "bj", 1))
        .await
        .unwrap();
    let all = s.load().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&"billing".into()].epoch(), Epoch(1));
    assert_eq!(all[&"crm".into()].epoch(), Epoch(9));
}

pub(crate) async fn watch_follows_every_commit(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    let mut w = s.watch();
    s.commit(&lead, &committed("crm", "bj", 1)).await.unwrap();
    let seen = w
        .wait_for(|r| r.get(&"crm".into()).is_some_and(|c| c.epoch() == Epoch(1)))
        .await
        .unwrap()
        .clone();
    assert_eq!(seen[&"crm".into()], committed("crm", "bj", 1));
    s.commit(&lead, &committed("crm", "sh", 2)).await.unwrap();
    let seen = w
        .wait_for(|r| r.get(&"crm".into()).is_some_and(|c| c.epoch() == Epoch(2)))
        .await
        .unwrap()
        .clone();
    assert_eq!(seen[&"crm".into()], committed("crm", "sh", 2));
    // A refused commit changes nothing a watcher sees.
    let _ = s.commit(&lead, &committed("crm", "bj", 2)).await;
    assert_eq!(
        w.borrow().get(&"crm".into()),
        Some(&committed("crm", "sh", 2))
    );
}

pub(crate) async fn deposed_leader_cannot_commit(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    s.commit(&lead, &committed("crm", "bj", 1)).await.unwrap();
    s.resign(&lead).await.unwrap();
    lead.lost().await;
    match s.commit(&lead, &committed("crm", "sh", 2)).await {
        Err(StoreError::Deposed { service, node: who }) => {
            assert_eq!((service.as_str(), who), ("crm", node()));
        }
        other => panic!("a deposed leader committed: {other:?}"),
    }
    assert_eq!(s.load().await.unwrap()[&"crm".into()].epoch(), Epoch(1));
    // A new leadership commits again.
    let again = s.campaign(&node()).await.unwrap();
    assert!(again.fence() >= lead.fence());
    s.commit(&again, &committed("crm", "sh", 2)).await.unwrap();
}

/// Many records at once (more than one etcd transaction holds): all committed, watched and
/// durable; one stale record among them is fenced; a deposed leader commits none.
pub(crate) async fn commit_all_commits_many_and_keeps_the_rules(f: &mut impl Factory) {
    let s = f.fresh().await;
    let lead = s.campaign(&node()).await.unwrap();
    s.commit(&lead, &committed("svc-007", "bj", 4))
        .await
        .unwrap();
    let mut many: Vec<ServiceRecord> = (0..150)
        .map(|i| committed(&format!("svc-{i:03}"), "bj", 4))
        .collect();
    for r in &mut many {
        r.health.degraded = true;
    }
    let mut w = s.watch();
    s.commit_all(&lead, &many).await.unwrap();
    let seen = w
        .wait_for(|r| r.len() == 150 && r.values().all(|c| c.health.degraded))
        .await
        .unwrap()
        .clone();
    assert_eq!(seen[&"svc-149".into()], many[149]);
    // The stale one first: no store commits anything after a refusal.
    let stale = [committed("svc-011", "sh", 3), committed("svc-010", "sh", 5)];
    match s.commit_all(&lead, &stale).await {
        Err(StoreError::Fenced {
            service, stored, ..
        }) => assert_eq!((service.as_str(), stored), ("svc-011", Epoch(4))),
        other => panic!("a stale record in a batch was not fenced: {other:?}"),
    }
    assert_eq!(
        s.load().await.unwrap()[&"svc-011".into()].epoch(),
        Epoch(4),
        "the stale record did not replace the stored one"
    );
    s.resign(&lead).await.unwrap();
    lead.lost().await;
    let later: Vec<ServiceRecord> = (0..3)
        .map(|i| committed(&format!("svc-{i:03}"), "sh", 6))
        .collect();
    match s.commit_all(&lead, &later).await {
        Err(StoreError::Deposed { .. }) => {}
        other => panic!("a deposed leader committed a batch: {other:?}"),
    }
    drop((s, lead, w));
    let s = f.reopen().await;
    let all = s.load().await.unwrap();
    assert_eq!(all.len(), 150);
    assert!(
        all.values()
            .all(|r| r.epoch() == Epoch(4) && r.health.degraded)
    );
}

pub(crate) async fn batch_append_keeps_order(f: &mut impl Factory) {
    let s = f.fresh().await;
    s.append(&[]).await.unwrap();
    let batch: Vec<_> = (0..3)
        .map(|n| AuditRecord::input(Timestamp(n), Input::Tick))
        .collect();
    s.append(&batch).await.unwrap();
    s.append(&[AuditRecord::input(Timestamp(3), Input::Tick)])
        .await
        .unwrap();
    drop(s);
    let s = f.reopen().await;
    let all = s.history(&HistoryQuery::default()).await.unwrap();
    assert_eq!(at(&all), [3, 2, 1, 0]);
}

pub(crate) async fn history_newest_first_filtered_limited(f: &mut impl Factory) {
    let s = f.fresh().await;
    for n in 0..6 {
        let service = if n % 2 == 0 { "crm" } else { "billing" };
        let rec = AuditRecord::input(
            Timestamp(n),
            Input::Command(Command::Reject {
                service: service.into(),
                by: "battery".into(),
            }),
        );
        s.append(std::slice::from_ref(&rec)).await.unwrap();
    }
    let all = s.history(&HistoryQuery::default()).await.unwrap();
    assert_eq!(at(&all), [5, 4, 3, 2, 1, 0]);
    let q = HistoryQuery {
        service: Some("crm".into()),
        limit: Some(2),
    };
    assert_eq!(at(&s.history(&q).await.unwrap()), [4, 2]);
    drop(s);
    let s = f.reopen().await;
    assert_eq!(s.history(&HistoryQuery::default()).await.unwrap(), all);
}

pub(crate) async fn votes_latest_per_node(f: &mut impl Factory) {
    let s = f.fresh().await;
    let ttl = Duration::from_secs(30);
    for v in [vote("p1", 1), vote("p2", 1), vote("p1", 2)] {
        s.publish(&v, ttl).await.unwrap();
    }
    let mut current = s.watch_votes().await.unwrap().current;
    current.sort_by(|a, b| a.observation.node.cmp(&b.observation.node));
    assert_eq!(current, vec![vote("p1", 2), vote("p2", 1)]);
}

pub(crate) async fn vote_changes_stream_in_order(f: &mut impl Factory) {
    let s = f.fresh().await;
    let ttl = Duration::from_secs(30);
    s.publish(&vote("p1", 1), ttl).await.unwrap();
    let mut w = s.watch_votes().await.unwrap();
    assert_eq!(w.current, vec![vote("p1", 1)]);
    for v in [vote("p1", 2), vote("p2", 1)] {
        s.publish(&v, ttl).await.unwrap();
    }
    for want in [vote("p1", 2), vote("p2", 1)] {
        assert_eq!(w.changes.recv().await.unwrap(), VoteChange::Put(want));
    }
}

pub(crate) async fn dead_probe_vote_expires(f: &mut impl Factory) {
    let s = f.fresh().await;
    s.publish(&vote("p1", 1), Duration::from_secs(2))
        .await
        .unwrap();
    s.publish(&vote("p2", 1), Duration::from_secs(60))
        .await
        .unwrap();
    f.pass(Duration::from_secs(5)).await;
    // p2 keeps publishing; p1 went silent.
    s.publish(&vote("p2", 2), Duration::from_secs(60))
        .await
        .unwrap();
    let current = s.watch_votes().await.unwrap().current;
    assert_eq!(current, vec![vote("p2", 2)]);
}

/// The committed records a new watch starts from.
trait WatchRecords {
    fn watch_records(&self) -> Arc<BTreeMap<crate::model::ServiceId, ServiceRecord>>;
}

impl<T: DecisionStore + ?Sized> WatchRecords for T {
    fn watch_records(&self) -> Arc<BTreeMap<crate::model::ServiceId, ServiceRecord>> {
        self.watch().borrow().clone()
    }
}
