//! An authority's relay of pushed votes onto the cluster's vote board: one publisher per vote.
//!
//! Every probe pushes each signed observation to every authority (a probe cut off from one
//! authority still reaches the others). If each authority put each vote on the board, etcd
//! would commit three puts per observation and the leader would read three copies of each,
//! which at 50 probes × 100 services kept the leader behind the votes (`deploy/bench/cluster.md`).
//! So the leader (or any authority while no leader is known, or the embedded store) publishes
//! a pushed vote at once, and a follower holds it for a grace period ([`grace`]) and publishes
//! it only if the board has not got that node's vote at that sequence or newer by then: the
//! leader did not hear the probe (a probe cut off from the leader) or there is no leader
//! (it died: the board stays current for whoever leads next).
//!
//! ```text
//!   POST /v1/observations ─▶ Relay::publish ─ leading ───────────────────▶ VoteBoard::publish
//!                                        └─ following ─▶ held (newest per node) ─┐
//!   VoteBoard watch (while holding) ─▶ newest sequence per node on the board ────┴─ due and
//!                                                     still missing ─▶ VoteBoard::publish
//! ```
//!
//! Counted in `/metrics` as `switchback_votes_relayed_total{outcome}`: `published` (the board
//! lacked it), `on_board` (the leader had it already), `superseded` (a newer one from the same
//! node came while it was held).

use super::error::NodeError;
use super::tasks::Tasks;
use crate::config::Config;
use crate::decide::sleep_until;
use crate::metrics::{Exposition, Metrics, family};
use crate::model::NodeId;
use crate::store::{Standing, StoreError, Stores, VoteBoard, VoteChange, VoteWatch};
use crate::tally::SignedObservation;
use async_trait::async_trait;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How many held votes may queue for the relay task before the API publishes itself.
const QUEUE: usize = 1024;

/// How long a follower holds a pushed vote before publishing it if the board lacks it: a
/// quarter of `stale_after`, at most 500 ms, so a vote published this way is still fresh.
pub(crate) fn grace(stale_after: Duration) -> Duration {
    (stale_after / 4).min(Duration::from_millis(500))
}

/// The relay's counters, shown in `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct RelayStats {
    published: AtomicU64,
    on_board: AtomicU64,
    superseded: AtomicU64,
}

impl Exposition for RelayStats {
    fn render(&self, out: &mut String) {
        family(
            out,
            "switchback_votes_relayed_total",
            "counter",
            "Pushed votes this follower held, by outcome: published (the board lacked it), \
             on_board (the leader had published it), superseded (a newer one came).",
        );
        for (outcome, n) in [
            ("published", &self.published),
            ("on_board", &self.on_board),
            ("superseded", &self.superseded),
        ] {
            let _ = writeln!(
                out,
                "switchback_votes_relayed_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
    }
}

/// The board as the admin API sees it: publishes at once while this node leads, else hands
/// the vote to the relay task.
pub(crate) struct Relay {
    board: Arc<dyn VoteBoard>,
    me: NodeId,
    standing: watch::Receiver<Standing>,
    held: mpsc::Sender<(SignedObservation, Duration)>,
}

/// Whether this node puts pushed votes on the board itself, now.
fn publishes_now(standing: &Standing, me: &NodeId) -> bool {
    !standing.cluster || standing.leader.as_ref().is_none_or(|l| &l.node == me)
}

#[async_trait]
impl VoteBoard for Relay {
    async fn publish(&self, vote: &SignedObservation, ttl: Duration) -> Result<(), StoreError> {
        if publishes_now(&self.standing.borrow(), &self.me) {
            return self.board.publish(vote, ttl).await;
        }
        match self.held.try_send((vote.clone(), ttl)) {
            Ok(()) => Ok(()),
            // The relay is behind or gone: publish rather than lose the vote.
            Err(_) => self.board.publish(vote, ttl).await,
        }
    }

    async fn watch_votes(&self) -> Result<VoteWatch, StoreError> {
        self.board.watch_votes().await
    }
}

/// A vote held by a follower.
struct Held {
    vote: SignedObservation,
    ttl: Duration,
    /// When it is published unless the board has it: the first hold's time plus the grace
    /// (a newer vote replaces the held one but does not postpone this).
    due: Instant,
}

/// The relay task's state: held votes and the newest sequence per node on the board.
struct Task {
    board: Arc<dyn VoteBoard>,
    me: NodeId,
    standing: watch::Receiver<Standing>,
    grace: Duration,
    stats: Arc<RelayStats>,
    held: HashMap<NodeId, Held>,
    on_board: HashMap<NodeId, u64>,
    /// Watched only while following (the leader need not read its own writes twice).
    watch: Option<VoteWatch>,
    /// After a failed subscription, not before this.
    resubscribe: Instant,
    /// The last put failed (logged once per run of failures, not per vote).
    failing: bool,
}

/// Pause before watching the board again after the store refused a watch.
const RESUBSCRIBE: Duration = Duration::from_secs(1);

/// The vote board the admin API publishes pushed votes to: with a cluster store, the relay
/// (started here, its counters in `/metrics`); otherwise the store's own board.
pub(super) fn board_for_pushes(
    cfg: &Config,
    stores: &Stores,
    metrics: &Metrics,
    tasks: &mut Tasks,
) -> Arc<dyn VoteBoard> {
    if !stores.standing.borrow().cluster {
        return Arc::clone(&stores.votes);
    }
    let stats = Arc::new(RelayStats::default());
    metrics.add_source(Arc::clone(&stats) as Arc<dyn Exposition>);
    let (board, task) = start(
        Arc::clone(&stores.votes),
        cfg.node.id.clone(),
        stores.standing.clone(),
        grace(cfg.votes.stale_after),
        stats,
        tasks.token(),
    );
    tasks.spawn("relay", async move {
        task.await;
        Ok::<(), NodeError>(())
    });
    board
}

/// Start the relay over `board`; the returned board goes to the admin API.
fn start(
    board: Arc<dyn VoteBoard>,
    me: NodeId,
    standing: watch::Receiver<Standing>,
    grace: Duration,
    stats: Arc<RelayStats>,
    stop: CancellationToken,
) -> (
    Arc<dyn VoteBoard>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let relay = Relay {
        board: Arc::clone(&board),
        me: me.clone(),
        standing: standing.clone(),
        held: tx,
    };
    let task = Task {
        board,
        me,
        standing,
        grace,
        stats,
        held: HashMap::new(),
        on_board: HashMap::new(),
        watch: None,
        resubscribe: Instant::now(),
        failing: false,
    };
    (Arc::new(relay), task.run(rx, stop))
}

impl Task {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<(SignedObservation, Duration)>,
        stop: CancellationToken,
    ) {
        loop {
            let leading = publishes_now(&self.standing.borrow(), &self.me);
            if leading {
                // Leading now: what is held goes out at once; the board need not be watched.
                self.flush_all().await;
                self.watch = None;
            } else if self.watch.is_none() && Instant::now() >= self.resubscribe {
                self.watch = self.subscribe().await;
            }
            let due = self.held.values().map(|h| h.due).min();
            tokio::select! {
                () = stop.cancelled() => return,
                Ok(()) = self.standing.changed() => {}
                got = rx.recv() => match got {
                    Some((vote, ttl)) => self.hold(vote, ttl),
                    None => return,
                },
                change = next_change(self.watch.as_mut()) => match change {
                    Ok(VoteChange::Put(v)) => self.seen(&v.observation.node, v.observation.seq),
                    Ok(VoteChange::Expired(_)) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "relay's vote watch lagged; watching again");
                        self.watch = None;
                    }
                    Err(RecvError::Closed) => self.watch = None,
                },
                () = sleep_until(due) => self.publish_due().await,
            }
        }
    }

    /// Watch the board and take in its current votes; `None` (held votes then go out when
    /// due, as if the board lacked them) if the store cannot be read.
    async fn subscribe(&mut self) -> Option<VoteWatch> {
        match self.board.watch_votes().await {
            Ok(mut w) => {
                for v in std::mem::take(&mut w.current) {
                    self.seen(&v.observation.node, v.observation.seq);
                }
                Some(w)
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay cannot watch the vote board");
                self.resubscribe = Instant::now() + RESUBSCRIBE;
                None
            }
        }
    }

    fn hold(&mut self, vote: SignedObservation, ttl: Duration) {
        let (node, seq) = (vote.observation.node.clone(), vote.observation.seq);
        if self.on_board.get(&node).is_some_and(|&s| s >= seq) {
            self.stats.on_board.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let due = Instant::now() + self.grace;
        match self.held.get_mut(&node) {
            Some(h) if h.vote.observation.seq >= seq => {
                self.stats.superseded.fetch_add(1, Ordering::Relaxed);
            }
            Some(h) => {
                self.stats.superseded.fetch_add(1, Ordering::Relaxed);
                h.vote = vote;
                h.ttl = ttl;
            }
            None => {
                self.held.insert(node, Held { vote, ttl, due });
            }
        }
    }

    /// The board holds `node`'s vote `seq`: a held vote no newer is not needed.
    fn seen(&mut self, node: &NodeId, seq: u64) {
        let newest = self.on_board.entry(node.clone()).or_insert(seq);
        *newest = (*newest).max(seq);
        if self
            .held
            .get(node)
            .is_some_and(|h| h.vote.observation.seq <= seq)
        {
            self.held.remove(node);
            self.stats.on_board.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn publish_due(&mut self) {
        let now = Instant::now();
        let due: Vec<NodeId> = self
            .held
            .iter()
            .filter(|(_, h)| h.due <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for node in due {
            if let Some(h) = self.held.remove(&node) {
                self.put(h).await;
            }
        }
    }

    async fn flush_all(&mut self) {
        for (_, h) in std::mem::take(&mut self.held) {
            self.put(h).await;
        }
    }

    async fn put(&mut self, h: Held) {
        let (node, seq) = (h.vote.observation.node.clone(), h.vote.observation.seq);
        match self.board.publish(&h.vote, h.ttl).await {
            Ok(()) => {
                self.stats.published.fetch_add(1, Ordering::Relaxed);
                self.seen(&node, seq);
                if std::mem::take(&mut self.failing) {
                    tracing::info!("held votes are published again");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(error = %e, %node, seq,
                        "held vote not published (logged once until one is)");
                }
            }
        }
    }
}

/// The next change on the watch, or never without one.
async fn next_change(watch: Option<&mut VoteWatch>) -> Result<VoteChange, RecvError> {
    match watch {
        Some(w) => w.changes.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
