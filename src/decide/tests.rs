//! The decision loop against a real embedded store, on tokio's paused clock where time matters:
//! hold-down ticks, commits before anything sees them, events after they are durable, votes
//! from the board verified by the leader, heartbeats that wake no enactor.

use super::*;
use crate::enact::{Applied, Follower, Reconciler, Reports};
use crate::fixture;
use crate::model::{Health, Timestamp};
use crate::node::tests::{KEY, config, observation};
use crate::policy::{Command, DesiredSet, Event};
use crate::store::{EmbeddedStore, HistoryQuery};
use async_trait::async_trait;
use std::time::Duration;

/// A loop over a fresh embedded store in `dir`, its clock anchored to tokio's.
struct Loop {
    handle: DecisionHandle,
    stores: Stores,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), DecideError>>,
    cfg: Arc<Config>,
}

impl Loop {
    async fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    async fn start_with(dir: &std::path::Path, edit: impl FnOnce(&mut Config)) -> Self {
        let mut cfg = config(dir);
        edit(&mut cfg);
        let cfg = Arc::new(cfg);
        let stores = Stores::of(Arc::new(EmbeddedStore::open(&cfg.node.state_dir).unwrap()));
        let metrics = Arc::new(Metrics::default());
        let verifier = Verifier::new(
            vec![KEY.as_bytes().to_vec()],
            &cfg.votes.voters,
            cfg.votes.stale_after,
        );
        let clock = Clock::new(Timestamp(1_000_000));
        let (handle, decider) = start(
            &cfg,
            "n1".into(),
            &stores,
            clock,
            Arc::clone(&metrics),
            verifier,
        )
        .await
        .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(decider.run(shutdown.clone()));
        Self {
            handle,
            stores,
            metrics,
            shutdown,
            task,
            cfg,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// `p1` sees bj's app and host down and sh up.
fn down_at_bj(seq: u64, at: Timestamp) -> crate::model::Observation {
    use Health::{Down, Up};
    fixture::obs("p1", "bj", seq, at.0)
        .site("bj", fixture::view(Down, Down, Up))
        .site("sh", fixture::view(Up, Up, Up))
        .service("crm", "bj", Down)
        .service("crm", "sh", Up)
        .build()
}

/// A primary seen down by the quorum fails over exactly when hold-down expires, and the
/// store holds the decision before any watcher sees it.
#[tokio::test(start_paused = true)]
async fn hold_down_expiry_ticks_the_engine_and_commits_before_publishing() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let mut committed = l.stores.decisions.watch();
    let seen_at = tokio::time::Instant::now();
    let clock = Clock::new(Timestamp(1_000_000));
    l.handle
        .observations
        .send(down_at_bj(1, clock.now()))
        .await
        .unwrap();
    let seen = committed
        .wait_for(|r| {
            r.get(&"crm".into())
                .is_some_and(|c| c.committed.decision.active_site.as_str() == "sh")
        })
        .await
        .unwrap()
        .clone();
    let waited = seen_at.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "failed over before hold-down: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "failover took {waited:?}");
    // What watchers see is what the store holds.
    let stored = l.stores.decisions.load().await.unwrap();
    assert_eq!(stored[&"crm".into()], seen[&"crm".into()]);
    l.stop().await;
}

/// Events leave the loop only once their audit record is durable.
#[tokio::test]
async fn events_stream_after_they_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let mut events = l.handle.events();
    l.handle
        .command(Command::Switch {
            service: "crm".into(),
            to: "sh".into(),
            reason: "drill".into(),
            by: "alice".into(),
            force: true,
        })
        .await
        .unwrap();
    let e = events.recv().await.unwrap();
    assert!(
        matches!(&e.event, Event::Switched { to, .. } if to.as_str() == "sh"),
        "{e:?}"
    );
    let history = l
        .stores
        .audit
        .history(&HistoryQuery::default())
        .await
        .unwrap();
    assert!(
        history.iter().any(|r| matches!(
            &r.entry,
            crate::policy::AuditEntry::Output(crate::policy::Output::Event(ev)) if *ev == e.event
        )),
        "event streamed before its audit record: {history:?}"
    );
    assert!(
        l.metrics
            .render(true)
            .contains("switchback_events_total{kind=\"switched\"} 1"),
        "{}",
        l.metrics.render(true)
    );
    l.stop().await;
}

/// Whoever can write to the vote board cannot forge a vote: the leader verifies each itself.
#[tokio::test]
async fn votes_on_the_board_are_verified_by_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let now = Clock::new(Timestamp(1_000_000)).now();
    let forged = Verifier::sign(b"not the key", &observation("p1", 1, now));
    l.stores
        .votes
        .publish(&forged, Duration::from_secs(5))
        .await
        .unwrap();
    let good = Verifier::sign(KEY.as_bytes(), &observation("p1", 2, now));
    l.stores
        .votes
        .publish(&good, Duration::from_secs(5))
        .await
        .unwrap();
    let mut published = l.handle.published.clone();
    let seen = published.wait_for(|p| p.votes.nodes.iter().any(|n| n.node.as_str() == "p1"));
    let votes = tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("the good vote reached the engine")
        .unwrap()
        .votes
        .clone();
    assert_eq!(votes.nodes[0].seq, 2, "{votes:?}");
    assert_eq!(l.metrics.dropped("bad_signature"), 1);
    l.stop().await;
}

/// Replayed and stale votes written to the board are dropped and counted by reason; the
/// current vote seen again (a resynchronised watch) is skipped without counting.
#[tokio::test]
async fn replayed_and_stale_votes_on_the_board_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let now = Clock::new(Timestamp(1_000_000)).now();
    let ttl = Duration::from_secs(5);
    let old = Verifier::sign(KEY.as_bytes(), &observation("p1", 1, now));
    let current = Verifier::sign(KEY.as_bytes(), &observation("p1", 2, now));
    // Correctly signed, a new sequence number, but built long before `stale_after`.
    let stale_at = Timestamp(now.0.saturating_sub(60_000));
    let stale = Verifier::sign(KEY.as_bytes(), &observation("p1", 3, stale_at));
    let next = Verifier::sign(KEY.as_bytes(), &observation("p1", 4, now));
    for v in [&old, &current, &current, &old, &stale, &next] {
        l.stores.votes.publish(v, ttl).await.unwrap();
    }
    let mut published = l.handle.published.clone();
    let seen = published.wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 4));
    tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("the next good vote reached the engine")
        .unwrap();
    assert_eq!(l.metrics.dropped("replayed"), 1, "seq 1 after seq 2");
    assert_eq!(l.metrics.dropped("stale"), 1);
    l.stop().await;
}

/// Counts how often it is handed the desired state.
#[derive(Clone, Default)]
struct Counting(Arc<std::sync::atomic::AtomicU64>);

#[async_trait]
impl Reconciler for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    async fn apply(&mut self, _: &DesiredSet) -> Vec<Applied> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Vec::new()
    }
}

/// 1,000 steady heartbeats commit nothing, so they wake no enactor; prints the figure.
#[tokio::test(start_paused = true)]
async fn heartbeats_wake_no_enactor() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let counting = Counting::default();
    let mut follower = Follower::new(
        counting.clone(),
        Arc::clone(&l.cfg),
        l.stores.decisions.watch(),
        Arc::clone(&l.metrics),
        Reports::default(),
    );
    follower.apply_now(true).await.unwrap();
    let enact = tokio::spawn(follower.run(l.shutdown.clone()));
    let clock = Clock::new(Timestamp(1_000_000));
    let beat = |seq| async move {
        tokio::time::advance(Duration::from_millis(100)).await;
        observation("p1", seq, clock.now())
    };
    // The first one moves the verdicts (committed serving health); the rest change nothing.
    l.handle.observations.send(beat(1).await).await.unwrap();
    let mut published = l.handle.published.clone();
    published
        .wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 1))
        .await
        .unwrap();
    tokio::task::yield_now().await;
    let before = counting.0.load(std::sync::atomic::Ordering::Relaxed);
    for seq in 2..=1001 {
        l.handle.observations.send(beat(seq).await).await.unwrap();
    }
    published
        .wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 1001))
        .await
        .unwrap();
    tokio::task::yield_now().await;
    let woken = counting.0.load(std::sync::atomic::Ordering::Relaxed) - before;
    println!("enactor applies per 1,000 heartbeats: {woken}");
    assert_eq!(woken, 0, "heartbeats woke the enactor {woken} times");
    l.stop().await;
    enact.await.unwrap();
}

/// Votes that move only the tally are folded: the view (and serving health) is brought up to
/// date once, `REFRESH` after the first of them, not once per vote.
#[tokio::test(start_paused = true)]
async fn votes_that_change_only_the_tally_are_folded_into_one_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let clock = Clock::new(Timestamp(1_000_000));
    l.handle
        .observations
        .send(observation("p1", 1, clock.now()))
        .await
        .unwrap();
    let mut published = l.handle.published.clone();
    published
        .wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 1))
        .await
        .unwrap();
    let seq_now = |p: &watch::Receiver<crate::decide::Published>| {
        p.borrow().votes.nodes.iter().map(|n| n.seq).max()
    };
    for seq in 2..=101 {
        l.handle
            .observations
            .send(observation("p1", seq, clock.now()))
            .await
            .unwrap();
    }
    // Let the loop take every vote without the clock moving: the view still shows the first.
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        seq_now(&published),
        Some(1),
        "the view was rebuilt per vote"
    );
    tokio::time::advance(super::task::REFRESH).await;
    published
        .wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 101))
        .await
        .unwrap();
    l.stop().await;
}

/// A loop that fell behind catches up with the newest vote per node: the votes waiting behind
/// it are each verified (a forged one is still counted) but only the newest goes to the engine.
#[tokio::test]
async fn votes_waiting_behind_a_newer_one_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let l = Loop::start(dir.path()).await;
    let now = Clock::new(Timestamp(1_000_000)).now();
    let ttl = Duration::from_secs(5);
    // Published without yielding: all thirty wait when the loop next runs.
    for seq in 1..=30 {
        let v = Verifier::sign(KEY.as_bytes(), &observation("p1", seq, now));
        l.stores.votes.publish(&v, ttl).await.unwrap();
    }
    let forged = Verifier::sign(b"not the key", &observation("p1", 31, now));
    l.stores.votes.publish(&forged, ttl).await.unwrap();
    let mut published = l.handle.published.clone();
    let seen = published.wait_for(|p| p.votes.nodes.iter().any(|n| n.seq == 30));
    tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("the newest vote reached the engine")
        .unwrap();
    assert_eq!(l.metrics.superseded(), 29);
    assert_eq!(l.metrics.dropped("bad_signature"), 1);
    l.stop().await;
}

/// Issue #13: killed between a commit and its output record, the node restarts serving the
/// new epoch; the start records it as `Recovered` (once), so history explains what is served.
#[tokio::test(start_paused = true)]
async fn a_commit_without_its_output_record_is_recorded_as_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let crm = ServiceId::from("crm");
    let l = Loop::start(dir.path()).await;
    let stores = Stores {
        votes: Arc::clone(&l.stores.votes),
        election: Arc::clone(&l.stores.election),
        decisions: Arc::clone(&l.stores.decisions),
        audit: Arc::clone(&l.stores.audit),
        standing: l.stores.standing.clone(),
        roster: l.stores.roster.clone(),
    };
    l.stop().await;
    // The crash window: a newer decision is committed, its output record never written.
    let leadership = stores.election.campaign(&"n1".into()).await.unwrap();
    let mut record = stores.decisions.load().await.unwrap()[&crm].clone();
    record.committed.decision.epoch.0 += 1;
    record.committed.decision.active_site = "sh".into();
    stores.decisions.commit(&leadership, &record).await.unwrap();
    stores.election.resign(&leadership).await.unwrap();
    drop(stores);

    let recovered = |records: &[AuditRecord]| -> Vec<u64> {
        records
            .iter()
            .filter_map(|r| match &r.entry {
                AuditEntry::Recovered(c) => Some(c.decision.epoch.0),
                _ => None,
            })
            .collect()
    };
    let query = HistoryQuery {
        service: Some(crm.clone()),
        limit: None,
    };
    let l = Loop::start(dir.path()).await;
    let history = l.stores.audit.history(&query).await.unwrap();
    assert_eq!(recovered(&history), [record.committed.decision.epoch.0]);
    l.stop().await;
    // Recorded once: the next start finds it audited.
    let l = Loop::start(dir.path()).await;
    let history = l.stores.audit.history(&query).await.unwrap();
    assert_eq!(recovered(&history).len(), 1);
    l.stop().await;
}

/// Confirm mode: the proposal is in the store before its page leaves the loop, and a restart
/// resumes it (same time proposed) without proposing or paging again.
#[tokio::test(start_paused = true)]
async fn a_proposal_is_durable_before_it_pages_and_resumed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let confirm = |cfg: &mut Config| {
        cfg.services[0].policy.mode = crate::config::Mode::Confirm;
    };
    let l = Loop::start_with(dir.path(), confirm).await;
    let mut events = l.handle.events();
    let clock = Clock::new(Timestamp(1_000_000));
    l.handle
        .observations
        .send(down_at_bj(1, clock.now()))
        .await
        .unwrap();
    let proposed = loop {
        let e = events.recv().await.unwrap();
        if matches!(e.event, Event::SwitchProposed { .. }) {
            break e;
        }
    };
    let stored = l.stores.decisions.load().await.unwrap()[&"crm".into()].clone();
    let pending = stored
        .committed
        .pending
        .clone()
        .expect("durable before the page");
    assert_eq!(pending.since, proposed.at);
    assert!(stored.health.degraded);
    l.stop().await;

    let l = Loop::start_with(dir.path(), confirm).await;
    let mut events = l.handle.events();
    let st = l.handle.view().status;
    assert_eq!(st[0].pending.as_ref(), Some(&pending));
    l.handle
        .observations
        .send(down_at_bj(2, clock.now()))
        .await
        .unwrap();
    // Past any hold-down: no second proposal.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(e) = events.try_recv() {
        assert!(!matches!(e.event, Event::SwitchProposed { .. }), "{e:?}");
    }
    let out = l
        .handle
        .command(Command::Approve {
            service: "crm".into(),
            by: "alice".into(),
        })
        .await
        .unwrap();
    assert!(!out.is_empty());
    let stored = l.stores.decisions.load().await.unwrap()[&"crm".into()].clone();
    assert_eq!(stored.committed.decision.active_site.as_str(), "sh");
    assert_eq!(stored.committed.pending, None);
    l.stop().await;
}
