//! Drills (容灾演练): a planned switchover through the normal operator command path, verified
//! from this node (every enactor's report for the new epoch, with its verification), held,
//! switched back and verified again, with a report under `state_dir/drills/`.
//!
//! ```text
//!   Drills::start ── refuse: maintenance, pending, target not up, drill running
//!        │ audit "started", DrillNote on the broadcast
//!        ▼
//!   switch (Command::Switch) ─▶ wait Reports::subscribe() for every enactor ─▶ hold
//!        │  (target down or moved meanwhile: abort)                            │
//!        ▼                                                                     ▼
//!   switch back ─▶ wait every enactor ─▶ report JSON + Markdown, audit "passed|failed|aborted"
//! ```

mod report;
mod run;

pub use report::{DrillReport, Outcome, Phase, Step, list, rfc3339};

use crate::decide::{Clock, DecisionHandle};
use crate::enact::Reports;
use crate::model::{ServiceId, SiteId};
use crate::policy::{AuditEntry, AuditRecord, DrillNote};
use crate::store::AuditLog;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a drill waits for the enactors to report a switch before it counts as failed.
pub const ENACT_TIMEOUT: Duration = Duration::from_secs(30);
/// The hold when none is given.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// Why a drill cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The service is not configured.
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// The state does not allow a drill now (maintenance, pending, target down, running).
    #[error("service {service}: no drill: {why}")]
    Refused {
        /// The service.
        service: ServiceId,
        /// Why.
        why: String,
    },
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

/// What to drill.
#[derive(Clone, Debug)]
pub struct DrillRequest {
    /// The service.
    pub service: ServiceId,
    /// The target; default: the first other serving site.
    pub to: Option<SiteId>,
    /// How long to stay on the target.
    pub hold: Duration,
    /// Who runs it.
    pub by: String,
}

/// Starts drills and keeps the running ones; cheap to clone.
#[derive(Clone)]
pub struct Drills {
    inner: Arc<Inner>,
}

struct Inner {
    decide: DecisionHandle,
    reports: Reports,
    audit: Arc<dyn AuditLog>,
    clock: Clock,
    dir: PathBuf,
    running: Mutex<BTreeMap<ServiceId, DrillReport>>,
    notes: broadcast::Sender<DrillNote>,
    shutdown: CancellationToken,
}

impl Drills {
    /// Drills through `decide`, waiting on `reports`, auditing in `audit`, reports in `dir`.
    pub fn new(
        decide: DecisionHandle,
        reports: Reports,
        audit: Arc<dyn AuditLog>,
        clock: Clock,
        dir: PathBuf,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                decide,
                reports,
                audit,
                clock,
                dir,
                running: Mutex::default(),
                notes: broadcast::channel(64).0,
                shutdown,
            }),
        }
    }

    /// Every drill start and finish from now on (for the pager), after its audit record.
    pub fn subscribe(&self) -> broadcast::Receiver<DrillNote> {
        self.inner.notes.subscribe()
    }

    /// Where reports are written.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// Running drills, then finished ones, newest first.
    pub fn all(&self) -> Vec<DrillReport> {
        let mut out: Vec<DrillReport> = self.lock().values().cloned().collect();
        let running: Vec<String> = out.iter().map(|r| r.id.clone()).collect();
        out.extend(
            list(&self.inner.dir)
                .into_iter()
                .filter(|r| !running.contains(&r.id)),
        );
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ServiceId, DrillReport>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Check the request against the current state and start the drill in the background;
    /// returns its initial report and a receiver of its final one.
    pub async fn start(
        &self,
        req: DrillRequest,
    ) -> Result<(DrillReport, oneshot::Receiver<DrillReport>), DrillError> {
        let report = run::admit(&self.inner.decide, &self.inner.clock, &req)?;
        {
            let mut running = self.lock();
            if running.contains_key(&req.service) {
                return Err(DrillError::Refused {
                    service: req.service,
                    why: "a drill of it is already running".into(),
                });
            }
            running.insert(req.service.clone(), report.clone());
        }
        self.note(&report, "started", format!("to {}", report.to))
            .await;
        let (tx, rx) = oneshot::channel();
        let me = self.clone();
        let initial = report.clone();
        tokio::spawn(async move {
            let done = run::drive(&me, report).await;
            me.lock().remove(&done.service);
            let phase = match done.outcome {
                Outcome::Passed => "passed",
                Outcome::Aborted => "aborted",
                Outcome::Failed | Outcome::Running => "failed",
            };
            let detail = match (done.rto_ms, done.failures.first()) {
                (_, Some(f)) => f.clone(),
                (Some(rto), None) => format!("rto {rto} ms"),
                (None, None) => String::new(),
            };
            me.note(&done, phase, detail).await;
            let _ = tx.send(done);
        });
        Ok((initial, rx))
    }

    /// Update the running drill's live report.
    fn update(&self, report: &DrillReport) {
        if let Some(r) = self.lock().get_mut(&report.service) {
            *r = report.clone();
        }
    }

    /// Audit a start or finish and tell subscribers.
    async fn note(&self, report: &DrillReport, phase: &str, detail: String) {
        let note = DrillNote {
            id: report.id.clone(),
            service: report.service.clone(),
            phase: phase.to_owned(),
            by: report.by.clone(),
            detail,
        };
        let record = AuditRecord {
            at: self.inner.clock.now(),
            entry: AuditEntry::Drill(note.clone()),
        };
        if let Err(e) = self.inner.audit.append(&[record]).await {
            tracing::error!(drill = %report.id, error = %e, "cannot audit the drill");
        }
        let _ = self.inner.notes.send(note);
    }
}
