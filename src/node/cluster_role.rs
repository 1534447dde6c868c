//! The cluster side of an authority: with `on_isolation = "withdraw"`, stop answering DNS
//! while cut off from etcd and answer again (the committed state, already followed) once
//! etcd is back.

use super::NodeError;
use crate::dns::DnsHandle;
use crate::store::Standing;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Withdraw `dns` whenever the standing is stale; until `shutdown`.
pub(crate) async fn withdraw_when_isolated(
    mut standing: watch::Receiver<Standing>,
    dns: DnsHandle,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    loop {
        dns.set_withdrawn(standing.borrow_and_update().is_stale());
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            changed = standing.changed() => if changed.is_err() { return Ok(()) },
        }
    }
}

/// Page when this node is cut off from the cluster and when it rejoins (the alert role's
/// `node_isolated` condition); until `shutdown`.
pub(crate) async fn alert_on_isolation(
    mut standing: watch::Receiver<Standing>,
    raise: crate::alert::Raise,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    let mut was = false;
    loop {
        let stale = standing.borrow_and_update().is_stale();
        if stale != was {
            raise.node_isolated(
                stale,
                "no quorum read of etcd for a lease TTL; answering the last committed state",
            );
            was = stale;
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            changed = standing.changed() => if changed.is_err() { return Ok(()) },
        }
    }
}
