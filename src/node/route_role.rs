//! The route enactor on an authority whose config has VIPs: kernel routes or addresses follow
//! the committed state. Its failures are reported per service and never stop the node.

use super::NodeError;
use super::tasks::Tasks;
use crate::config::{Config, Role};
use crate::enact::{Follower, Reports, RouteEnactor};
use crate::metrics::{Exposition, Metrics};
use crate::store::Records;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Connect the enactor (authority role with at least one VIP), or `None`. A node that cannot
/// open netlink logs why and runs on without routes, so DNS keeps working.
pub(crate) fn prepare(cfg: &Arc<Config>, shutdown: &CancellationToken) -> Option<RouteEnactor> {
    if !cfg.has_role(Role::Authority) || cfg.services.iter().all(|s| s.vip.is_none()) {
        return None;
    }
    match RouteEnactor::start(Arc::clone(cfg), shutdown.clone()) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::error!(error = %e, "route enactor unavailable: VIPs will not move");
            None
        }
    }
}

/// Its counters for `/metrics`.
pub(crate) fn exposition(e: &Option<RouteEnactor>) -> Option<Arc<dyn Exposition>> {
    e.as_ref().map(|e| e.stats() as Arc<dyn Exposition>)
}

/// Apply once (adopt or correct what the kernel has), then follow the committed state.
pub(crate) async fn start(
    enactor: Option<RouteEnactor>,
    cfg: &Arc<Config>,
    committed: watch::Receiver<Records>,
    metrics: &Arc<Metrics>,
    reports: &Reports,
    tasks: &mut Tasks,
) {
    let Some(enactor) = enactor else { return };
    let mut follower = Follower::new(
        enactor,
        Arc::clone(cfg),
        committed,
        Arc::clone(metrics),
        reports.clone(),
    );
    // Failures are logged and reported per service; the follow loop retries them.
    let _ = follower.apply_now(true).await;
    let token = tasks.token();
    tasks.spawn("enact_route", async move {
        follower.run(token).await;
        Ok::<(), NodeError>(())
    });
}
