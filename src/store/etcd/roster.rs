//! The roster in etcd: this node's record under `P/authorities/<node>` on a lease of its own
//! (put when the record changes, otherwise only kept alive every TTL/3, so a dead or cut-off
//! node's record expires within the TTL), and everyone's records followed by a watch (read
//! again after a broken or compacted watch).

use super::board::Backoff;
use super::{Keys, timed};
use crate::store::StoreError;
use crate::store::roster::{AuthorityRecord, Roster};
use etcd_client::{Client, EventType, GetOptions, PutOptions, WatchOptions};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs_f64().ceil() as u64)
        .unwrap_or(i64::MAX)
        .max(1)
}

/// Put this node's record whenever it changes, keep its lease alive meanwhile; until `stop`.
pub(super) async fn publish(
    client: Client,
    keys: Keys,
    ttl: Duration,
    timeout: Duration,
    roster: Roster,
    stop: CancellationToken,
) {
    let mut mine = roster.mine();
    let mut leases = client.lease_client();
    let mut lease: Option<(
        i64,
        etcd_client::LeaseKeeper,
        etcd_client::LeaseKeepAliveStream,
    )> = None;
    let mut dirty = true;
    let mut failing = false;
    let mut tick = tokio::time::interval(ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            changed = mine.changed() => {
                if changed.is_err() { break; }
                dirty = true;
            }
            _ = tick.tick() => {
                if let Some((_, keeper, answers)) = lease.as_mut() {
                    let alive = tokio::time::timeout(timeout, async {
                        keeper.keep_alive().await?;
                        answers.message().await
                    })
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
                    .is_some_and(|a| a.ttl() > 0);
                    if !alive {
                        // Expired or unanswered: put the record again under a new lease.
                        lease = None;
                        dirty = true;
                    }
                }
            }
        }
        // A change announced while this loop was busy is not lost: marked seen only when put.
        dirty |= mine.has_changed().unwrap_or(false);
        if !dirty {
            continue;
        }
        let Some(record) = mine.borrow_and_update().clone() else {
            continue;
        };
        match put(
            &client,
            &mut leases,
            &keys,
            ttl,
            timeout,
            &record,
            &mut lease,
        )
        .await
        {
            Ok(()) => {
                tracing::debug!(epochs = ?record.epochs, "authority record put");
                dirty = false;
                if std::mem::take(&mut failing) {
                    tracing::info!("authority record published again");
                }
            }
            Err(e) => {
                lease = None;
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "cannot publish this authority's record; retrying");
                }
            }
        }
    }
    if let Some((id, ..)) = lease {
        let _ = tokio::time::timeout(timeout, leases.revoke(id)).await;
    }
}

async fn put(
    client: &Client,
    leases: &mut etcd_client::LeaseClient,
    keys: &Keys,
    ttl: Duration,
    timeout: Duration,
    record: &AuthorityRecord,
    lease: &mut Option<(
        i64,
        etcd_client::LeaseKeeper,
        etcd_client::LeaseKeepAliveStream,
    )>,
) -> Result<(), StoreError> {
    let key = keys.authority(&record.node);
    if lease.is_none() {
        let id = timed(
            timeout,
            "grant lease",
            &key,
            leases.grant(ttl_secs(ttl), None),
        )
        .await?
        .id();
        let (keeper, answers) =
            timed(timeout, "keep lease alive", &key, leases.keep_alive(id)).await?;
        *lease = Some((id, keeper, answers));
    }
    let id = lease.as_ref().map(|l| l.0).unwrap_or_default();
    let value = serde_json::to_vec(record).map_err(|e| StoreError::CorruptKey {
        key: key.clone(),
        detail: e.to_string(),
    })?;
    let mut kv = client.kv_client();
    timed(
        timeout,
        "put",
        &key,
        kv.put(key.clone(), value, Some(PutOptions::new().with_lease(id))),
    )
    .await?;
    Ok(())
}

fn decode(key: &[u8], value: &[u8]) -> Option<AuthorityRecord> {
    match serde_json::from_slice(value) {
        Ok(r) => Some(r),
        Err(e) => {
            let key = String::from_utf8_lossy(key);
            tracing::warn!(key = %key, error = %e, "unreadable authority record ignored");
            None
        }
    }
}

/// Follow every authority's record into `roster`; until `stop`.
pub(super) async fn follow(
    client: Client,
    keys: Keys,
    timeout: Duration,
    roster: Roster,
    stop: CancellationToken,
) {
    let prefix = keys.authorities();
    let mut backoff = Backoff::default();
    loop {
        // Read all, then watch from the revision read.
        let mut kv = client.kv_client();
        let read = timed(
            timeout,
            "get",
            &prefix,
            kv.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
        )
        .await;
        let revision = match read {
            Ok(resp) => {
                let seen = resp
                    .kvs()
                    .iter()
                    .filter_map(|kv| decode(kv.key(), kv.value()))
                    .collect();
                roster.seen_all(seen);
                resp.header().map(|h| h.revision()).unwrap_or_default()
            }
            Err(_) => {
                backoff.wait(&stop).await;
                if stop.is_cancelled() {
                    return;
                }
                continue;
            }
        };
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision + 1);
        let mut watcher = client.watch_client();
        let watch = tokio::select! {
            () = stop.cancelled() => return,
            w = tokio::time::timeout(timeout, watcher.watch(prefix.clone(), Some(opts))) => w,
        };
        if let Ok(Ok(mut stream)) = watch {
            backoff = Backoff::default();
            loop {
                let msg = tokio::select! {
                    () = stop.cancelled() => return,
                    m = stream.message() => m,
                };
                let Ok(Some(resp)) = msg else { break };
                if resp.canceled() {
                    break;
                }
                for ev in resp.events() {
                    let Some(kv) = ev.kv() else { continue };
                    match ev.event_type() {
                        EventType::Put => {
                            if let Some(r) = decode(kv.key(), kv.value()) {
                                roster.seen(r);
                            }
                        }
                        EventType::Delete => {
                            let key = String::from_utf8_lossy(kv.key());
                            if let Some(node) = key.strip_prefix(&prefix) {
                                roster.lost(&node.into());
                            }
                        }
                    }
                }
            }
        }
        backoff.wait(&stop).await;
        if stop.is_cancelled() {
            return;
        }
    }
}
