//! The decision task: owns the [`Engine`], feeds it inputs, makes its outputs durable, then
//! publishes them.
//!
//! Order for every input: engine step (pure, in memory) → audit the input → commit each
//! decision to the store (CAS on the epoch) → publish on the watch channel → audit the outputs.
//! Enactors therefore never see a decision the store does not hold, and do not wait for the
//! output records (one more fsync) before moving DNS and routes: a crash before those records
//! are written is healed by replay, which regenerates them. If the store fails the task stops
//! with an error and the node shuts down (fail-stop): engine and disk would otherwise diverge.

use super::clock::Clock;
use super::handle::{CommandFailure, Published, Request};
use crate::api::Metrics;
use crate::model::{Committed, Observation, ServiceId};
use crate::policy::{self, AuditEntry, AuditRecord, Engine, Input, Output};
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The decision task's state.
pub(crate) struct DecisionTask {
    pub(crate) engine: Engine,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Clock,
    pub(crate) committed: BTreeMap<ServiceId, Committed>,
    pub(crate) published: watch::Sender<Published>,
    pub(crate) metrics: Arc<Metrics>,
}

impl DecisionTask {
    /// The state to publish now.
    pub(crate) fn snapshot(&self) -> Published {
        Published {
            committed: self.committed.clone(),
            status: self.engine.status(),
            votes: self.engine.votes(),
        }
    }

    async fn audit(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            // Most heartbeats are not audited; skip the store round trip.
            return Ok(());
        }
        let values = records
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| StoreError::Encode {
                path: "audit record".into(),
                source,
            })?;
        self.store.append_audit(&values).await
    }

    /// Make one step durable, cause before effect, and publish it: the records of inputs (and
    /// a start line) first, then each commit (CAS on the epoch), then the new state goes to
    /// the enactors, then the output records; events are logged. A crash in between leaves a
    /// log whose replay regenerates what is missing.
    pub(crate) async fn persist(
        &mut self,
        records: Vec<AuditRecord>,
        outputs: &[Output],
    ) -> Result<(), StoreError> {
        let (effects, causes): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|r| matches!(r.entry, AuditEntry::Output(_)));
        self.audit(&causes).await?;
        for output in outputs {
            match output {
                Output::Commit(c) => {
                    self.store.commit(c).await?;
                    self.metrics.decision_committed(c.decision.service.as_str());
                    tracing::info!(
                        service = %c.decision.service,
                        active_site = %c.decision.active_site,
                        epoch = %c.decision.epoch,
                        reason = %c.decision.reason,
                        "decision committed"
                    );
                    self.committed.insert(c.decision.service.clone(), c.clone());
                }
                Output::Event(e) => e.log(),
            }
        }
        self.published.send_replace(self.snapshot());
        self.audit(&effects).await?;
        Ok(())
    }

    /// One input through the engine and the store; publishes on success.
    async fn step(
        &mut self,
        input: Input,
    ) -> Result<Result<Vec<Output>, policy::CommandError>, StoreError> {
        let now = self.clock.now();
        match self.engine.handle(input.clone(), now) {
            Ok(outputs) => {
                let records = self.engine.audit(&input, now, &outputs);
                self.persist(records, &outputs).await?;
                Ok(Ok(outputs))
            }
            Err(refused) => {
                // A refused command is history too (replay yields no output for it).
                tracing::info!(error = %refused, "command refused");
                self.audit(&[AuditRecord::input(now, input)]).await?;
                Ok(Err(refused))
            }
        }
    }

    /// Run until cancelled or the store fails.
    pub(crate) async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut observations: mpsc::Receiver<Observation>,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        loop {
            let deadline = self
                .engine
                .next_deadline()
                .map(|t| self.clock.instant_at(t));
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            // Unbiased: a flood of observations must not starve operator commands or ticks.
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
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
                    // only a store failure stops the task.
                    let _ = self.step(Input::Observation(obs)).await?;
                }
                () = timer => {
                    let _ = self.step(Input::Tick).await?;
                }
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
