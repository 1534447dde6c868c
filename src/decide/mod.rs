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
//! [`start`] campaigns (the embedded store leads at once), takes over the committed state and
//! makes the engine's first outputs durable, so the node enacts them before it answers
//! anything; [`Decider::run`] is the loop.

mod clock;
mod error;
mod handle;
mod task;

pub use clock::Clock;
pub use error::DecideError;
pub use handle::{CommandFailure, DecisionHandle, DurableEvent, Published};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{Committed, NodeId, ServiceId, ServiceRecord, Timestamp};
use crate::policy::{AuditEntry, AuditRecord, Engine, Output};
use crate::store::{HistoryQuery, Stores};
use crate::tally::Verifier;
use std::collections::BTreeMap;
use std::sync::Arc;
use task::{DecisionTask, Inputs};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How many operator commands may queue for the loop.
const REQUESTS: usize = 64;
/// How many of this node's own observations may queue (it sends one per change or heartbeat).
const OWN_OBSERVATIONS: usize = 1024;
/// How many durable events a slow subscriber may fall behind before it is told it lagged.
const EVENTS: usize = 1024;

/// The decision loop, leading and started, ready to run.
pub struct Decider {
    task: DecisionTask,
    inputs: Inputs,
}

/// Campaign as `node`, take over what is committed and make the engine's first outputs
/// (initial decisions for new services, the serving health) durable.
pub async fn start(
    cfg: &Config,
    node: NodeId,
    stores: &Stores,
    clock: Clock,
    metrics: Arc<Metrics>,
    verifier: Verifier,
) -> Result<(DecisionHandle, Decider), DecideError> {
    let leadership = stores.election.campaign(&node).await?;
    let records = stores.decisions.load().await?;
    let committed: BTreeMap<ServiceId, Committed> = records
        .iter()
        .map(|(s, r)| (s.clone(), r.committed.clone()))
        .collect();
    let now = clock.now();
    let (engine, outputs) = Engine::new(cfg, committed, now);
    let (published_tx, published) = watch::channel(Published {
        status: engine.status(),
        votes: engine.votes(),
    });
    let (events, _) = broadcast::channel(EVENTS);
    // Subscribe before the first commit so no vote published meanwhile is missed.
    let votes = stores.votes.watch_votes().await?;
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
        clock,
        records,
        published: published_tx,
        events: events.clone(),
        metrics,
        verifier,
    };
    task.persist(start, &outputs).await?;
    for r in task.records.values() {
        let d = &r.committed.decision;
        tracing::info!(service = %d.service, active_site = %d.active_site, epoch = %d.epoch,
            "resuming committed decision");
    }
    let (requests_tx, requests) = mpsc::channel(REQUESTS);
    let (observations_tx, observations) = mpsc::channel(OWN_OBSERVATIONS);
    let handle = DecisionHandle {
        requests: requests_tx,
        observations: observations_tx,
        published,
        events,
    };
    let inputs = Inputs {
        requests,
        observations,
        votes,
    };
    Ok((handle, Decider { task, inputs }))
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
    /// Decide until `shutdown` (then resign), the leadership is lost or the store fails.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), DecideError> {
        self.task.run(self.inputs, shutdown).await
    }
}

#[cfg(test)]
mod tests;
