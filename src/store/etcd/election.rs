//! Leadership through etcd's v3 election API: each candidate holds a lease kept alive here;
//! the candidate whose election key has the lowest create revision leads, and that revision
//! is its fence. Losing the lease (no keep-alive answered within the TTL, or etcd says it
//! expired) ends the leadership; commits are fenced by the key anyway.

use super::{Inner, timed};
use crate::model::NodeId;
use crate::store::{LeaderInfo, Leadership, StoreError};
use etcd_client::{Client, ResignOptions};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs_f64().ceil() as u64)
        .unwrap_or(i64::MAX)
        .max(1)
}

pub(super) async fn campaign(inner: &Inner, node: &NodeId) -> Result<Leadership, StoreError> {
    let name = inner.keys.election();
    let value = serde_json::to_vec(&LeaderInfo {
        node: node.clone(),
        admin: inner.advertise.clone(),
    })
    .map_err(|e| StoreError::CorruptKey {
        key: name.clone(),
        detail: e.to_string(),
    })?;
    loop {
        let mut leases = inner.client.lease_client();
        let lease = timed(
            inner.timeout,
            "grant lease",
            &name,
            leases.grant(ttl_secs(inner.lease_ttl), None),
        )
        .await?
        .id();
        let lost = CancellationToken::new();
        tokio::spawn(keep_alive(
            inner.client.clone(),
            lease,
            inner.lease_ttl,
            inner.timeout,
            lost.clone(),
            inner.stop.clone(),
        ));
        let mut election = inner.client.election_client();
        // No timeout: campaigning waits until every earlier candidate is gone.
        let won = tokio::select! {
            r = election.campaign(name.clone(), value.clone(), lease) => r,
            () = lost.cancelled() => {
                tracing::warn!(lease, "campaign lease lost while waiting; campaigning again");
                continue;
            }
            () = inner.stop.cancelled() => {
                return Err(StoreError::Worker("store closed".into()));
            }
        };
        let won = match won {
            Ok(w) => w,
            Err(source) => {
                lost.cancel();
                return Err(StoreError::Etcd {
                    op: "campaign",
                    key: name,
                    source,
                });
            }
        };
        let Some(key) = won.leader().cloned() else {
            lost.cancel();
            continue;
        };
        let fence = u64::try_from(key.rev()).unwrap_or_default();
        inner
            .leaders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fence, key);
        tracing::info!(node = %node, fence, "leading");
        return Ok(Leadership::new(node.clone(), fence, lost));
    }
}

pub(super) async fn resign(inner: &Inner, leadership: &Leadership) -> Result<(), StoreError> {
    leadership.end();
    let key = inner
        .leaders
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&leadership.fence());
    if let Some(key) = key {
        let mut election = inner.client.election_client();
        timed(
            inner.timeout,
            "resign",
            &inner.keys.election(),
            election.resign(Some(ResignOptions::new().with_leader(key))),
        )
        .await?;
    }
    Ok(())
}

/// Keep `lease` alive every third of its TTL until `lost` or `stop`; cancel `lost` when etcd
/// says the lease is gone or no keep-alive was answered for a whole TTL. Revokes the lease
/// on the way out (best effort), so a resigned or stopped node frees its keys at once.
async fn keep_alive(
    client: Client,
    lease: i64,
    ttl: Duration,
    timeout: Duration,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let mut leases = client.lease_client();
    let mut stream = None;
    // A keep-alive sent at `sent` and answered keeps the lease at least until sent + ttl.
    let mut alive_until = Instant::now() + ttl;
    let period = ttl / 3;
    loop {
        tokio::select! {
            () = lost.cancelled() => break,
            () = stop.cancelled() => break,
            () = tokio::time::sleep(period) => {}
        }
        let sent = Instant::now();
        let answer = tokio::time::timeout(timeout, async {
            if stream.is_none() {
                stream = Some(leases.keep_alive(lease).await?);
            }
            let (keeper, answers) = stream.as_mut().expect("set above");
            keeper.keep_alive().await?;
            answers.message().await
        })
        .await;
        match answer {
            Ok(Ok(Some(a))) if a.ttl() > 0 => alive_until = sent + ttl,
            Ok(Ok(Some(_))) => {
                tracing::warn!(lease, "leadership lease expired in etcd");
                lost.cancel();
                break;
            }
            other => {
                stream = None;
                if let Ok(Err(e)) = other {
                    tracing::warn!(lease, error = %e, "lease keep-alive failed");
                } else {
                    tracing::warn!(lease, "lease keep-alive unanswered");
                }
                if Instant::now() + period >= alive_until {
                    tracing::warn!(
                        lease,
                        "lease may expire before the next keep-alive; leadership lost"
                    );
                    lost.cancel();
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(timeout, leases.revoke(lease)).await;
}
