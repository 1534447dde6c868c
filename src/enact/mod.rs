//! Enactors: they turn the committed state into the world, on every authority.
//!
//! - Level-triggered enactors (DNS answers, VIP routes and addresses) implement [`Reconciler`]: an
//!   idempotent apply of the whole [`DesiredSet`], reporting per service what it did and how
//!   long it took. One [`Follower`] loop serves each: it derives the desired state from the
//!   store's watch of committed records (`policy::desired`, pure), calls `apply` only when
//!   that changed (a heartbeat changes nothing committed, so it wakes no enactor), counts
//!   every result in the metrics and keeps the last one per service in [`Reports`].
//! - Edge-triggered enactors (the pager) take the decision loop's stream of durable events
//!   (`decide::DecisionHandle::events`) instead.

mod dns;
mod dns_verify;
mod follow;
mod report;
mod route;

pub use dns::DnsEnactor;
pub use follow::Follower;
pub use report::{Applied, Report, Reports, Verification};
pub use route::RouteEnactor;

use crate::model::{Epoch, ServiceId};
use crate::policy::DesiredSet;
use async_trait::async_trait;
use std::time::Duration;

/// An enactment that failed where the caller cannot go on without it (before serving).
#[derive(Debug, thiserror::Error)]
pub enum EnactError {
    /// One service's enactment failed.
    #[error("{enactor} enactor: service {service} at epoch {epoch}: {error}")]
    Failed {
        /// The enactor.
        enactor: &'static str,
        /// The service.
        service: ServiceId,
        /// The epoch it tried to enact.
        epoch: Epoch,
        /// Why.
        error: String,
    },
}

/// A level-triggered enactor: makes the world match the desired state, idempotently.
#[async_trait]
pub trait Reconciler: Send {
    /// Its name in logs, metrics and reports (`dns`, `route`).
    fn name(&self) -> &'static str;

    /// Make the world match `desired` (every service, not a delta). Returns one [`Applied`] per
    /// service it changed or failed to change; an apply that found nothing to do returns none.
    async fn apply(&mut self, desired: &DesiredSet) -> Vec<Applied>;

    /// How often to apply again without a change, to repair drift others caused; `None` when
    /// nothing else can change what it enacts.
    fn resync(&self) -> Option<Duration> {
        None
    }

    /// Resolves when what it enacts may have drifted (the route enactor: a netlink event); the
    /// follower then applies again. Never, by default.
    async fn changed(&mut self) {
        std::future::pending::<()>().await
    }
}
