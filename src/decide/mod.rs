//! The decision loop: while this node leads, it feeds the pure [`Engine`] its inputs
//! and makes every output durable before anything else sees it.
//!
//! ```text
//!   POST /v1/observations ─verify─▶ VoteBoard ──watch──┐ (verified again here: the leader
//!   own probe role ── observations (trusted) ──────────┤  trusts no writer of the board)
//!   admin API ── Request::Command + oneshot reply ─────┤
//!   timer at Engine::next_deadline ────────────────────┤
//!                                                      ▼
//!                        DecisionTask (policy::Engine, only while it holds a Leadership)
//!                          │ audit input ─▶ commit record (decision + serving health,
//!                          │                 fenced, CAS) ─▶ publish view ─▶ audit outputs
//!                          ▼                                                  │
//!               DecisionStore ──watch──▶ enactors (every authority)   events ─▶ broadcast
//!               watch<Published> ──▶ admin API (status, votes)                 (pager)
//! ```
//!
//! [`start`] takes over at once with the embedded store (it leads alone) and makes the
//! engine's first outputs durable, so the node enacts them before it answers anything. In a
//! cluster [`Decider::run`] campaigns; while another authority leads it follows the committed
//! records (the API's view) and answers commands with the leader's name, so the API can
//! forward them; when it wins it takes over the committed state and the current votes.

mod clock;
mod error;
mod handle;
mod task;

pub use clock::Clock;
pub(crate) use clock::sleep_until;
pub use error::DecideError;
pub use handle::{CommandFailure, DecisionHandle, DurableEvent, Published};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{Committed, NodeId, ServiceId, ServiceRecord, Timestamp};
use crate::policy::{AuditEntry, AuditRecord, Engine, Output};
use crate::store::{HistoryQuery, Leadership, Records, Stores, VoteWatch};
use crate::tally::Verifier;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use task::{DecisionTask, Inputs};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How many operator commands may queue for the loop.
const REQUESTS: usize = 64;
/// How many of this node's own observations may queue (it sends one per change or heartbeat).
const OWN_OBSERVATIONS: usize = 1024;
/// How many durable events a slow subscriber may fall behind before it is told it lagged.
const EVENTS: usize = 1024;
/// Pause before campaigning again after the store refused a campaign.
const CAMPAIGN_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// The decision loop, started, ready to run: leading already (embedded store) or following
/// until it wins an election (cluster store).
pub struct Decider {
    /// A leadership taken over in [`start`] (the embedded store leads at once).
    first: Option<(DecisionTask, VoteWatch)>,
    cfg: Arc<Config>,
    node: NodeId,
    stores: Stores,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// Kept across leaderships, so sequences seen in one term stay seen in the next.
    verifier: Option<Verifier>,
    inputs: Inputs,
    published: watch::Sender<Published>,
    events: broadcast::Sender<DurableEvent>,
    /// Whether the loop leads right now (the API's view follows the records otherwise).
    leading: Arc<AtomicBool>,
}

/// Open the decision loop as `node`. With the embedded store it leads at once: it takes over
/// what is committed and makes the engine's first outputs (initial decisions for new
/// services, the serving health) durable before this returns. With a cluster store it
/// publishes the committed state as its view and campaigns in [`Decider::run`].
pub async fn start(
    cfg: &Config,
    node: NodeId,
    stores: &Stores,
    clock: Clock,
    metrics: Arc<Metrics>,
    verifier: Verifier,
) -> Result<(DecisionHandle, Decider), DecideError> {
    let cfg = Arc::new(cfg.clone());
    let view = follower_view(&cfg, &stores.decisions.watch().borrow(), clock);
    let (published_tx, published) = watch::channel(view);
    let (events, _) = broadcast::channel(EVENTS);
    let (requests_tx, requests) = mpsc::channel(REQUESTS);
    let (observations_tx, observations) = mpsc::channel(OWN_OBSERVATIONS);
    let leading = Arc::new(AtomicBool::new(false));
    let cluster = stores.standing.borrow().cluster;
    let handle = DecisionHandle {
        requests: requests_tx,
        observations: observations_tx,
        published,
        events: events.clone(),
        following: cluster.then(|| handle::Following {
            leading: Arc::clone(&leading),
            records: stores.decisions.watch(),
            cfg: Arc::clone(&cfg),
            clock,
        }),
    };
    let mut decider = Decider {
        first: None,
        cfg,
        node,
        stores: stores.clone(),
        clock,
        metrics,
        verifier: Some(verifier),
        inputs: Inputs {
            requests,
            observations,
        },
        published: published_tx,
        events,
        leading,
    };
    if !stores.standing.borrow().cluster {
        let leadership = stores.election.campaign(&decider.node).await?;
        decider.first = Some(decider.take_over(leadership).await?);
    }
    Ok((handle, decider))
}

/// What a node that does not lead shows: the engine's view of the committed records alone.
pub(crate) fn follower_view(cfg: &Config, records: &Records, clock: Clock) -> Published {
    let committed: BTreeMap<ServiceId, Committed> = records
        .iter()
        .map(|(s, r)| (s.clone(), r.committed.clone()))
        .collect();
    let (engine, _) = Engine::new(cfg, committed, clock.now());
    Published {
        status: engine.status(),
        votes: engine.votes(),
    }
}

/// A `Recovered` record for each committed decision newer than its service's last audited
/// commit output: the node stopped between the commit and the output record (issue #13).
async fn recovered(
    stores: &Stores,
    records: &BTreeMap<ServiceId, ServiceRecord>,
    now: Timestamp,
) -> Result<Vec<AuditRecord>, DecideError> {
    let mut out = Vec::new();
    for (service, record) in records {
        let query = HistoryQuery {
            service: Some(service.clone()),
            limit: None,
        };
        let audited = stores
            .audit
            .history(&query)
            .await?
            .into_iter()
            .find_map(|r| match r.entry {
                AuditEntry::Output(Output::Commit(c)) | AuditEntry::Recovered(c) => {
                    Some(c.decision.epoch)
                }
                _ => None,
            });
        let epoch = record.committed.decision.epoch;
        if audited.is_none_or(|a| a < epoch) {
            tracing::warn!(%service, %epoch, audited = ?audited,
                "committed decision had no audit record; recorded as recovered");
            out.push(AuditRecord::recovered(now, record.committed.clone()));
        }
    }
    Ok(out)
}

impl Decider {
    /// Take over what is committed under `leadership` and make the engine's first outputs
    /// durable; the votes are read at once (a new leader does not wait for probes).
    async fn take_over(
        &mut self,
        leadership: Leadership,
    ) -> Result<(DecisionTask, VoteWatch), DecideError> {
        let stores = &self.stores;
        let records = stores.decisions.load().await?;
        let committed: BTreeMap<ServiceId, Committed> = records
            .iter()
            .map(|(s, r)| (s.clone(), r.committed.clone()))
            .collect();
        let now = self.clock.now();
        let (engine, outputs) = Engine::new(&self.cfg, committed, now);
        // Subscribe before the first commit so no vote published meanwhile is missed.
        let votes = stores.votes.watch_votes().await?;
        // A new leader also records the decisions it takes over that its own log lacks
        // (committed by another leader, or before a crash).
        let mut start = recovered(stores, &records, now).await?;
        start.push(engine.start_record(now));
        start.extend(outputs.iter().cloned().map(|o| AuditRecord::output(now, o)));
        let mut task = DecisionTask {
            engine,
            decisions: Arc::clone(&stores.decisions),
            audit: Arc::clone(&stores.audit),
            board: Arc::clone(&stores.votes),
            election: Arc::clone(&stores.election),
            leadership,
            clock: self.clock,
            records,
            published: self.published.clone(),
            events: self.events.clone(),
            metrics: Arc::clone(&self.metrics),
            verifier: self.verifier.take().expect("one leadership at a time"),
            refresh_due: None,
        };
        let persisted = task.persist(start, &outputs).await;
        if let Err(e) = persisted {
            self.verifier = Some(task.verifier);
            return Err(e);
        }
        for r in task.records.values() {
            let d = &r.committed.decision;
            tracing::info!(service = %d.service, active_site = %d.active_site, epoch = %d.epoch,
                "resuming committed decision");
            if let Some(p) = &r.committed.pending {
                tracing::info!(service = %d.service, to = %p.to, kind = ?p.kind,
                    since = p.since.0, deadline = p.deadline.0, reason = %p.reason,
                    "resuming pending proposal");
            }
        }
        Ok((task, votes))
    }

    /// Follow the committed records (as the API's view) and refuse commands with the leader's
    /// name, until this node wins the election; `None` on shutdown.
    async fn follow(&mut self, shutdown: &CancellationToken) -> Option<Leadership> {
        let mut records = self.stores.decisions.watch();
        self.published.send_replace(follower_view(
            &self.cfg,
            &records.borrow_and_update(),
            self.clock,
        ));
        loop {
            let election = Arc::clone(&self.stores.election);
            let node = self.node.clone();
            let campaign = async move { election.campaign(&node).await };
            tokio::pin!(campaign);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    won = &mut campaign => match won {
                        Ok(l) => return Some(l),
                        Err(e) => {
                            tracing::warn!(error = %e, "campaign failed; trying again");
                            tokio::select! {
                                () = shutdown.cancelled() => return None,
                                () = tokio::time::sleep(CAMPAIGN_RETRY) => {}
                            }
                            break;
                        }
                    },
                    Some(req) = self.inputs.requests.recv() => match req {
                        handle::Request::Command { reply, .. } => {
                            let leader = self.stores.standing.borrow().leader.clone();
                            let _ = reply.send(Err(CommandFailure::NotLeader { leader }));
                        }
                    },
                    // A cluster authority's own observations go through the vote board.
                    Some(_) = self.inputs.observations.recv() => {}
                    Ok(()) = records.changed() => {
                        let view = follower_view(&self.cfg, &records.borrow_and_update(), self.clock);
                        self.published.send_replace(view);
                    }
                }
            }
        }
    }

    /// Decide while leading, follow otherwise, until `shutdown` (then resign). With the
    /// embedded store any failure ends the node (fail-stop); in a cluster a lost leadership
    /// or a store failure hands the decision to whoever leads next, and this node follows.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), DecideError> {
        let cluster = self.stores.standing.borrow().cluster;
        loop {
            let (mut task, votes) = match self.first.take() {
                Some(led) => led,
                None => {
                    let Some(leadership) = self.follow(&shutdown).await else {
                        return Ok(());
                    };
                    match self.take_over(leadership.clone()).await {
                        Ok(led) => led,
                        Err(e) if cluster => {
                            self.step_down(&leadership, &e).await;
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            self.leading.store(true, Ordering::Release);
            let result = task.run(&mut self.inputs, votes, shutdown.clone()).await;
            self.leading.store(false, Ordering::Release);
            let leadership = task.leadership.clone();
            self.verifier = Some(task.verifier);
            match result {
                Ok(()) => return Ok(()),
                Err(e) if cluster => self.step_down(&leadership, &e).await,
                Err(e) => return Err(e),
            }
        }
    }

    /// Give the leadership up after `why`, so another authority takes over at once.
    async fn step_down(&self, leadership: &Leadership, why: &DecideError) {
        tracing::warn!(error = %why, node = %self.node, "no longer leading; following");
        if let Err(e) = self.stores.election.resign(leadership).await {
            tracing::debug!(error = %e, "resign after losing the leadership");
        }
    }
}

#[cfg(test)]
mod tests;
