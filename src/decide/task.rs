//! The decision loop's state and its one step: engine (pure, in memory) → audit the input →
//! commit each decision with the serving health it goes with (fenced by the leadership, CAS on
//! the epoch) → publish the view → audit the outputs → stream the events.
//!
//! Enactors follow the store's watch, so they never see a decision the store does not hold,
//! and do not wait for the output records (one more fsync) before moving DNS and routes: a
//! crash before those records are written is healed by replay, which regenerates them. If the
//! store fails the loop stops with an error and the node shuts down (fail-stop): engine and
//! disk would otherwise diverge.

use super::clock::{Clock, sleep_until};
use super::error::DecideError;
use super::handle::{CommandFailure, DurableEvent, Published, Request};
use crate::metrics::Metrics;
use crate::model::{Committed, NodeId, Observation, ServiceId, ServiceRecord, ServingHealth};
use crate::policy::{self, AuditEntry, AuditRecord, Engine, Input, Output, ServiceStatus};
use crate::store::{
    AuditLog, DecisionStore, Election, Leadership, StoreError, VoteBoard, VoteChange, VoteWatch,
};
use crate::tally::{SignedObservation, Verifier};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Where the loop's inputs come from (kept across leaderships; the votes are watched anew
/// by each).
pub(crate) struct Inputs {
    /// Operator commands.
    pub(crate) requests: mpsc::Receiver<Request>,
    /// This node's own observations (trusted).
    pub(crate) observations: mpsc::Receiver<Observation>,
}

/// The decision loop's state while this node leads.
pub(crate) struct DecisionTask {
    pub(crate) engine: Engine,
    pub(crate) decisions: Arc<dyn DecisionStore>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) board: Arc<dyn VoteBoard>,
    pub(crate) election: Arc<dyn Election>,
    pub(crate) leadership: Leadership,
    pub(crate) clock: Clock,
    /// What this leader has committed, by service.
    pub(crate) records: BTreeMap<ServiceId, ServiceRecord>,
    pub(crate) published: watch::Sender<Published>,
    pub(crate) events: broadcast::Sender<DurableEvent>,
    pub(crate) metrics: Arc<Metrics>,
    /// Checks votes from the board: signature, voter, domain, freshness, sequence.
    pub(crate) verifier: Verifier,
    /// Votes changed the tally but nothing else: the view and serving health are brought up
    /// to date at this time, once for all the votes before it ([`REFRESH`]).
    pub(crate) refresh_due: Option<tokio::time::Instant>,
}

/// How long votes that change nothing but the tally wait before the view and the serving
/// health are recomputed. Computing them is the costly part of a step (every service, every
/// probe's vote cloned); at 50 probes x 100 services at 200 ms, doing it per vote kept the
/// leader behind the votes. A vote that makes a decision, event or proposal is persisted at once.
pub(crate) const REFRESH: std::time::Duration = std::time::Duration::from_millis(50);

impl DecisionTask {
    /// Make one step durable, cause before effect, and publish it: the records of inputs (and
    /// a start line) first, then each commit with the serving health of that moment, then any
    /// serving health that changed without a decision, then the view for the API, then the
    /// output records, then the events. A crash in between leaves a log whose replay
    /// regenerates what is missing.
    pub(crate) async fn persist(
        &mut self,
        records: Vec<AuditRecord>,
        outputs: &[Output],
    ) -> Result<(), DecideError> {
        let (effects, causes): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|r| matches!(r.entry, AuditEntry::Output(_)));
        self.audit.append(&causes).await?;
        let status = self.engine.status();
        let health: BTreeMap<&ServiceId, ServingHealth> = status
            .iter()
            .map(|s| (&s.service, policy::serving_health(s)))
            .collect();
        let mut commits = Vec::new();
        for output in outputs {
            match output {
                Output::Commit(c) => commits.push(ServiceRecord {
                    committed: c.clone(),
                    health: health.get(&c.decision.service).cloned().unwrap_or_default(),
                }),
                Output::Event(e) => e.log(),
            }
        }
        // One store round for all of them (a new leader's first step commits every service).
        self.commit_all(commits).await?;
        for output in outputs {
            if let Output::Commit(c) = output {
                let service = &c.decision.service;
                self.metrics.decision_committed(service.as_str());
                tracing::info!(
                    service = %service,
                    active_site = %c.decision.active_site,
                    epoch = %c.decision.epoch,
                    reason = %c.decision.reason,
                    "decision committed"
                );
            }
        }
        self.commit_health(&health).await?;
        self.publish(status);
        self.refresh_due = None;
        self.audit.append(&effects).await?;
        let at = self.engine.now();
        for output in outputs {
            if let Output::Event(event) = output {
                self.metrics.event(event.kind());
                // Nobody listening (no alert sinks) is fine.
                let _ = self.events.send(DurableEvent {
                    at,
                    event: event.clone(),
                });
            }
        }
        Ok(())
    }

    /// Commit every service whose serving health or pending (confirm-mode) proposal changed
    /// without a decision: the same decision at the same epoch (the store's CAS allows exactly
    /// that), so a proposal is durable (and fenced like any commit) before it pages, and its
    /// withdrawal, rejection or timeout clears it durably.
    async fn commit_health(
        &mut self,
        health: &BTreeMap<&ServiceId, ServingHealth>,
    ) -> Result<(), DecideError> {
        let engine = self.engine.committed();
        let changed: Vec<ServiceRecord> = self
            .records
            .values()
            .filter_map(|r| {
                let h = health.get(r.service())?;
                // Every decision the engine made is committed above; what it holds beyond the
                // last one (at the same epoch) is only the proposal.
                let pending = match engine.get(r.service()) {
                    Some(c) if c.decision == r.committed.decision => c.pending.clone(),
                    _ => r.committed.pending.clone(),
                };
                (*h != r.health || pending != r.committed.pending).then(|| ServiceRecord {
                    committed: Committed {
                        pending,
                        ..r.committed.clone()
                    },
                    health: h.clone(),
                })
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let was: Vec<_> = changed
            .iter()
            .map(|r| {
                let pending = self.records.get(r.service());
                (
                    r.service().clone(),
                    pending.and_then(|p| p.committed.pending.clone()),
                )
            })
            .collect();
        // One store round for all of them: a lost quorum changes every service at once.
        self.commit_all(changed).await?;
        for (service, was) in was {
            let Some(record) = self.records.get(&service) else {
                continue;
            };
            tracing::debug!(%service, degraded = record.health.degraded,
                down = ?record.health.down, "serving health committed");
            match &record.committed.pending {
                Some(p) if was.as_ref() != Some(p) => tracing::info!(%service, to = %p.to,
                    kind = ?p.kind, since = p.since.0, deadline = p.deadline.0,
                    "pending proposal committed"),
                None if was.is_some() => tracing::info!(%service, "pending proposal cleared"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Commits under this leadership, in order; a refusal is counted and stops the loop.
    async fn commit_all(&mut self, records: Vec<ServiceRecord>) -> Result<(), DecideError> {
        if records.is_empty() {
            return Ok(());
        }
        match self.decisions.commit_all(&self.leadership, &records).await {
            Ok(()) => {
                for record in records {
                    self.records.insert(record.service().clone(), record);
                }
                Ok(())
            }
            Err(e) => {
                let reason = match e {
                    StoreError::Deposed { .. } => Some("deposed"),
                    StoreError::Fenced { .. } => Some("fenced"),
                    _ => None,
                };
                if let Some(reason) = reason {
                    self.metrics.commit_refused(reason);
                    tracing::error!(error = %e, "commit refused: this node no longer decides");
                }
                Err(e.into())
            }
        }
    }

    /// Bring the view and the serving health up to date with the tally (votes folded since the
    /// last step that persisted).
    async fn refresh(&mut self) -> Result<(), DecideError> {
        self.persist(Vec::new(), &[]).await
    }

    fn publish(&self, status: Vec<ServiceStatus>) {
        self.published.send_replace(Published {
            status,
            votes: self.engine.votes(),
        });
    }

    /// One input through the engine and the store; publishes on success.
    async fn step(
        &mut self,
        input: Input,
    ) -> Result<Result<Vec<Output>, policy::CommandError>, DecideError> {
        let now = self.clock.now();
        let vote = matches!(input, Input::Observation(_));
        match self.engine.handle(input.clone(), now) {
            Ok(outputs) => {
                let records = self.engine.audit(&input, now, &outputs);
                if vote && outputs.is_empty() && records.is_empty() {
                    // Only the tally moved: fold it into the next refresh.
                    self.refresh_due
                        .get_or_insert_with(|| tokio::time::Instant::now() + REFRESH);
                    return Ok(Ok(outputs));
                }
                self.persist(records, &outputs).await?;
                Ok(Ok(outputs))
            }
            Err(refused) => {
                // A refused command is history too (replay yields no output for it).
                tracing::info!(error = %refused, "command refused");
                self.audit.append(&[AuditRecord::input(now, input)]).await?;
                Ok(Err(refused))
            }
        }
    }

    /// A signed vote from the board: verified here (whoever wrote it to the board), then
    /// handed to the engine.
    async fn vote(&mut self, signed: SignedObservation) -> Result<(), DecideError> {
        if let Some(obs) = self.verify(&signed) {
            let _ = self.step(Input::Observation(obs)).await?;
        }
        Ok(())
    }

    /// Verify a vote from the board. The vote last accepted from a node, seen again, is
    /// skipped silently (a resynchronised watch repeats the current ones); an older one is a
    /// replay and, like every other drop, counted by reason and logged (rate-limited per peer).
    fn verify(&mut self, signed: &SignedObservation) -> Option<Observation> {
        let obs = &signed.observation;
        if self.verifier.last_seq(&obs.node) == Some(obs.seq) {
            return None;
        }
        match self.verifier.verify(signed, self.clock.now()) {
            Ok(obs) => Some(obs),
            Err(r) => {
                self.metrics.observation_dropped(r.label());
                crate::tally::log_rejected(&r, "leader");
                None
            }
        }
    }

    /// `first` and every vote already waiting behind it: each is verified (and each drop
    /// counted) in order, and the newest verified one per node goes to the engine. A vote is
    /// level-triggered, so one superseded while it waited is skipped (counted in
    /// `switchback_observations_superseded_total`). A loop that fell behind (a slow commit, a
    /// take-over) so catches up in one round of at most one vote per probe, instead of working
    /// through old ones that age the tally out and flap the quorum. Watches again if the
    /// watch lagged.
    async fn votes_waiting(
        &mut self,
        first: SignedObservation,
        votes: &mut VoteWatch,
    ) -> Result<(), DecideError> {
        let mut newest: BTreeMap<NodeId, Observation> = BTreeMap::new();
        let mut next = Some(first);
        let mut lagged = false;
        while let Some(signed) = next.take() {
            if let Some(obs) = self.verify(&signed)
                && newest.insert(obs.node.clone(), obs).is_some()
            {
                self.metrics.observation_superseded();
            }
            next = loop {
                match votes.changes.try_recv() {
                    Ok(VoteChange::Put(v)) => break Some(v),
                    Ok(VoteChange::Expired(_)) => {}
                    Err(TryRecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "vote watch lagged; reading the current votes again"
                        );
                        lagged = true;
                        break None;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break None,
                }
            };
        }
        for obs in newest.into_values() {
            let _ = self.step(Input::Observation(obs)).await?;
        }
        if lagged {
            *votes = self.watch_again().await?;
        }
        Ok(())
    }

    /// Watch the board anew and feed its current votes (after the watch lagged).
    async fn watch_again(&mut self) -> Result<VoteWatch, DecideError> {
        let mut votes = self.board.watch_votes().await?;
        self.vote_current(&mut votes).await?;
        Ok(votes)
    }

    /// Feed the votes a new watch found on the board.
    async fn vote_current(&mut self, votes: &mut VoteWatch) -> Result<(), DecideError> {
        for v in std::mem::take(&mut votes.current) {
            self.vote(v).await?;
        }
        Ok(())
    }

    /// Run until cancelled, the leadership is lost or the store fails.
    pub(crate) async fn run(
        &mut self,
        inputs: &mut Inputs,
        mut votes: VoteWatch,
        shutdown: CancellationToken,
    ) -> Result<(), DecideError> {
        let Inputs {
            requests,
            observations,
        } = inputs;
        self.vote_current(&mut votes).await?;
        let leadership = self.leadership.clone();
        loop {
            let deadline = self
                .engine
                .next_deadline()
                .map(|t| self.clock.instant_at(t));
            let timer = sleep_until(deadline);
            let refresh = sleep_until(self.refresh_due);
            // Unbiased: a flood of observations must not starve operator commands or ticks.
            tokio::select! {
                () = shutdown.cancelled() => {
                    // Hand leadership back on a clean stop, so another authority takes over at once.
                    if let Err(e) = self.election.resign(&self.leadership).await {
                        tracing::warn!(error = %e, "could not resign leadership");
                    }
                    return Ok(());
                }
                () = leadership.lost() => {
                    return Err(DecideError::Lost { node: leadership.node().clone() });
                }
                Some(req) = requests.recv() => match req {
                    Request::Command { command, reply } => {
                        let name = command_name(&command);
                        match self.step(Input::Command(command)).await {
                            Ok(result) => {
                                self.metrics.command(name, result.is_ok());
                                let _ = reply.send(result.map_err(CommandFailure::from));
                            }
                            Err(e) => {
                                let _ = reply.send(Err(CommandFailure::Store(e.to_string())));
                                return Err(e);
                            }
                        }
                    }
                },
                Some(obs) = observations.recv() => {
                    // An observation the engine cannot use is its business (it logs an event);
                    // only a store failure stops the loop.
                    let _ = self.step(Input::Observation(obs)).await?;
                }
                change = votes.changes.recv() => match change {
                    Ok(VoteChange::Put(v)) => self.votes_waiting(v, &mut votes).await?,
                    // The tally ages votes out by their own time; nothing to do.
                    Ok(VoteChange::Expired(_)) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "vote watch lagged; reading the current votes again");
                        votes = self.watch_again().await?;
                    }
                    Err(RecvError::Closed) => return Err(DecideError::VotesClosed),
                },
                () = timer => {
                    let _ = self.step(Input::Tick).await?;
                }
                () = refresh => self.refresh().await?,
            }
        }
    }
}

/// A metric label for a command.
fn command_name(c: &policy::Command) -> &'static str {
    match c {
        policy::Command::Switch { .. } => "switch",
        policy::Command::Approve { .. } => "approve",
        policy::Command::Reject { .. } => "reject",
        policy::Command::Maintenance { .. } => "maintenance",
        policy::Command::Readmit { .. } => "readmit",
    }
}
