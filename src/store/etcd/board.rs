//! The vote board in etcd: each probe node's latest signed vote under `P/votes/<node>`, put
//! under a lease of that node that each publish keeps alive, so a probe that stops publishing
//! loses its vote after the TTL by itself. Every authority can read the current votes at
//! once (a new leader does not wait a full `stale_after`); the leader verifies each vote's
//! signature and sequence itself, so a client that can write to etcd cannot forge one.

use super::{Inner, Keys, timed};
use crate::model::NodeId;
use crate::store::{StoreError, VoteChange, VoteWatch};
use crate::tally::SignedObservation;
use etcd_client::{
    Client, EventType, GetOptions, KeyValue, LeaseKeepAliveStream, LeaseKeeper, PutOptions,
    WatchOptions,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, broadcast};
use tokio_util::sync::CancellationToken;

/// How many changes a watcher may fall behind before it must watch again.
const BACKLOG: usize = 4096;

/// One probe node's lease and its keep-alive stream.
struct Lease {
    id: i64,
    ttl: i64,
    keeper: LeaseKeeper,
    answers: LeaseKeepAliveStream,
}

/// The leases this authority publishes votes under, one per probe node.
#[derive(Default)]
pub(super) struct Leases {
    by_node: Mutex<HashMap<NodeId, Arc<Mutex<Option<Lease>>>>>,
}

fn decode(keys: &Keys, kv: &KeyValue) -> Option<SignedObservation> {
    let key = String::from_utf8_lossy(kv.key());
    match serde_json::from_slice::<SignedObservation>(kv.value()) {
        Ok(v) if keys.vote(&v.observation.node) == key => Some(v),
        Ok(v) => {
            tracing::warn!(key = %key, node = %v.observation.node, "vote under another node's key dropped");
            None
        }
        Err(e) => {
            tracing::warn!(key = %key, error = %e, "unreadable vote dropped");
            None
        }
    }
}

fn node_of(keys: &Keys, kv: &KeyValue) -> Option<NodeId> {
    let key = String::from_utf8_lossy(kv.key());
    key.strip_prefix(&keys.votes()).map(NodeId::from)
}

/// Keep the node's lease alive (or take a new one) and put the vote under it.
pub(super) async fn publish(
    inner: &Inner,
    vote: &SignedObservation,
    ttl: Duration,
) -> Result<(), StoreError> {
    let node = &vote.observation.node;
    let key = inner.keys.vote(node);
    let value = serde_json::to_vec(vote).map_err(|e| StoreError::CorruptKey {
        key: key.clone(),
        detail: e.to_string(),
    })?;
    let want = i64::try_from(ttl.as_secs_f64().ceil() as u64)
        .unwrap_or(i64::MAX)
        .max(1);
    let slot = Arc::clone(
        inner
            .board
            .by_node
            .lock()
            .await
            .entry(node.clone())
            .or_default(),
    );
    let mut slot = slot.lock().await;
    let mut leases = inner.client.lease_client();
    let renewed = match slot.as_mut() {
        Some(l) if l.ttl == want => tokio::time::timeout(inner.timeout, async {
            l.keeper.keep_alive().await?;
            l.answers.message().await
        })
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .is_some_and(|a| a.ttl() > 0),
        _ => false,
    };
    if !renewed {
        let id = timed(inner.timeout, "grant lease", &key, leases.grant(want, None))
            .await?
            .id();
        let (keeper, answers) = timed(
            inner.timeout,
            "keep lease alive",
            &key,
            leases.keep_alive(id),
        )
        .await?;
        *slot = Some(Lease {
            id,
            ttl: want,
            keeper,
            answers,
        });
    }
    let id = slot.as_ref().map(|l| l.id).unwrap_or_default();
    let mut kv = inner.client.kv_client();
    let put = timed(
        inner.timeout,
        "put",
        &key,
        kv.put(key.clone(), value, Some(PutOptions::new().with_lease(id))),
    )
    .await;
    if put.is_err() {
        // The lease may have expired in between: take a fresh one next time.
        *slot = None;
    }
    put.map(|_| ())
}

/// The current votes and a stream of later changes, resumed across reconnects.
pub(super) async fn watch(inner: &Inner) -> Result<VoteWatch, StoreError> {
    let (current, revision) = current(&inner.client, &inner.keys, inner.timeout).await?;
    let (tx, changes) = broadcast::channel(BACKLOG);
    tokio::spawn(forward(
        inner.client.clone(),
        inner.keys.clone(),
        inner.timeout,
        revision,
        tx,
        inner.stop.clone(),
    ));
    Ok(VoteWatch { current, changes })
}

async fn current(
    client: &Client,
    keys: &Keys,
    timeout: Duration,
) -> Result<(Vec<SignedObservation>, i64), StoreError> {
    let prefix = keys.votes();
    let resp = timed(
        timeout,
        "get",
        &prefix,
        client
            .kv_client()
            .get(prefix.clone(), Some(GetOptions::new().with_prefix())),
    )
    .await?;
    let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
    Ok((
        resp.kvs()
            .iter()
            .filter_map(|kv| decode(keys, kv))
            .collect(),
        revision,
    ))
}

/// Forward etcd's vote events to `tx` from `revision` on, until nobody listens or the store
/// stops. A broken watch resumes after the last revision seen; a compacted one re-reads the
/// current votes (the leader skips those it has seen by their sequence).
async fn forward(
    client: Client,
    keys: Keys,
    timeout: Duration,
    mut revision: i64,
    tx: broadcast::Sender<VoteChange>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::default();
    loop {
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision + 1);
        let mut watcher = client.watch_client();
        let watch = tokio::select! {
            () = stop.cancelled() => return,
            () = tx.closed() => return,
            w = tokio::time::timeout(timeout, watcher.watch(keys.votes(), Some(opts))) => w,
        };
        let mut stream = match watch {
            Ok(Ok(s)) => s,
            _ => {
                backoff.wait(&stop).await;
                continue;
            }
        };
        loop {
            let msg = tokio::select! {
                () = stop.cancelled() => return,
                () = tx.closed() => return,
                m = stream.message() => m,
            };
            let resp = match msg {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => break,
            };
            if resp.canceled() {
                if resp.compact_revision() > 0 {
                    tracing::warn!(
                        compacted = resp.compact_revision(),
                        "vote watch compacted; reading the current votes"
                    );
                    match current(&client, &keys, timeout).await {
                        Ok((votes, rev)) => {
                            revision = rev;
                            for v in votes {
                                if tx.send(VoteChange::Put(v)).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot read the current votes"),
                    }
                }
                break;
            }
            backoff = Backoff::default();
            for ev in resp.events() {
                let Some(kv) = ev.kv() else { continue };
                revision = revision.max(kv.mod_revision());
                let change = match ev.event_type() {
                    EventType::Put => decode(&keys, kv).map(VoteChange::Put),
                    EventType::Delete => node_of(&keys, kv).map(VoteChange::Expired),
                };
                if let Some(c) = change
                    && tx.send(c).is_err()
                {
                    return;
                }
            }
        }
        backoff.wait(&stop).await;
    }
}

/// Bounded exponential backoff between reconnects: 100 ms doubling to 2 s.
#[derive(Debug)]
pub(super) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_millis(100))
    }
}

impl Backoff {
    pub(super) async fn wait(&mut self, stop: &CancellationToken) {
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(self.0) => {}
        }
        self.0 = (self.0 * 2).min(Duration::from_secs(2));
    }
}
