//! [`Follower`]: the one loop every level-triggered enactor runs on.

use super::{EnactError, Reconciler, Reports};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::policy::{self, DesiredSet};
use crate::store::Records;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Follows the committed records into one reconciler.
pub struct Follower<R> {
    reconciler: R,
    cfg: Arc<Config>,
    committed: watch::Receiver<Records>,
    metrics: Arc<Metrics>,
    reports: Reports,
    /// What was last handed to the reconciler.
    last: Option<DesiredSet>,
}

impl<R: Reconciler> Follower<R> {
    /// A follower of `committed` (a store's watch) for `reconciler`.
    pub fn new(
        reconciler: R,
        cfg: Arc<Config>,
        committed: watch::Receiver<Records>,
        metrics: Arc<Metrics>,
        reports: Reports,
    ) -> Self {
        reports.register(reconciler.name());
        Self {
            reconciler,
            cfg,
            committed,
            metrics,
            reports,
            last: None,
        }
    }

    /// Apply what is committed now if it differs from what was last applied (or `force`);
    /// every result is logged, counted and reported, and the first failure returned.
    pub async fn apply_now(&mut self, force: bool) -> Result<(), EnactError> {
        let desired = policy::desired(&self.cfg, &self.committed.borrow_and_update());
        if !force && self.last.as_ref() == Some(&desired) {
            return Ok(());
        }
        let name = self.reconciler.name();
        self.metrics.enact_run(name);
        let mut first_failure = None;
        for a in self.reconciler.apply(&desired).await {
            self.metrics.applied(name, a.ok(), a.took);
            match &a.error {
                None => tracing::info!(enactor = name, service = %a.service, epoch = %a.epoch,
                    took_us = a.took.as_micros() as u64, "enacted"),
                Some(e) => {
                    tracing::error!(enactor = name, service = %a.service, epoch = %a.epoch,
                        error = %e, "enactment failed");
                    first_failure.get_or_insert_with(|| EnactError::Failed {
                        enactor: name,
                        service: a.service.clone(),
                        epoch: a.epoch,
                        error: e.clone(),
                    });
                }
            }
            self.reports.record(name, a);
        }
        self.last = Some(desired);
        first_failure.map_or(Ok(()), Err)
    }

    /// Apply every change of the committed state until `shutdown`, and again every
    /// [`Reconciler::resync`] period if it has one and whenever [`Reconciler::changed`] fires.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let resync = self.reconciler.resync();
        loop {
            let tick = async {
                match resync {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = self.committed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Failures are logged, counted and reported; the next change or resync
                    // tries again.
                    let _ = self.apply_now(false).await;
                }
                () = tick => {
                    let _ = self.apply_now(true).await;
                }
                () = self.reconciler.changed() => {
                    let _ = self.apply_now(true).await;
                }
            }
        }
    }
}
