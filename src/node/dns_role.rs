//! The DNS role: the authority's DNS server and the enactor that follows the committed
//! records into it (verifying each answer through the server itself on loopback).

use super::console_role;
use super::error::NodeError;
use super::tasks::Tasks;
use crate::config::Config;
use crate::dns::DnsServer;
use crate::enact::{DnsEnactor, Follower, Reports};
use crate::metrics::Metrics;
use crate::store::Stores;
use std::sync::Arc;

/// Apply the committed state before the first query is answered, then serve and follow.
pub(super) async fn start(
    server: DnsServer,
    cfg: &Arc<Config>,
    stores: &Stores,
    metrics: &Arc<Metrics>,
    reports: &Reports,
    tasks: &mut Tasks,
) -> Result<(), NodeError> {
    let mut enactor = DnsEnactor::new(server.handle());
    if let Some(addr) = server.local_addrs().first() {
        enactor = enactor.verifying(console_role::loopback(*addr), Arc::clone(cfg));
    }
    let mut follower = Follower::new(
        enactor,
        Arc::clone(cfg),
        stores.decisions.watch(),
        Arc::clone(metrics),
        reports.clone(),
    );
    // Answer from the committed state from the very first query.
    follower.apply_now(true).await.map_err(NodeError::Enact)?;
    tasks.spawn("dns", server.run(tasks.token()));
    let token = tasks.token();
    tasks.spawn("enact_dns", async move {
        follower.run(token).await;
        Ok::<(), NodeError>(())
    });
    Ok(())
}
