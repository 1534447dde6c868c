//! Following the committed records and this node's standing, in one background task.
//!
//! The records: watched from the revision they were read at; a broken watch resumes after the
//! last revision seen (the client reconnects to another endpoint); a compacted watch, or a
//! node back from isolation, reads everything again. The standing: every `check_every`, a
//! linearizable read of the election keys (which also says who leads); when none has
//! succeeded for a lease TTL the node is stale, and the next one that succeeds clears it.

use super::board::Backoff;
use super::decisions::decode;
use super::{Keys, timed};
use crate::model::Timestamp;
use crate::store::{LeaderInfo, Records, Standing};
use etcd_client::{Client, EventType, GetOptions, SortOrder, SortTarget, WatchOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(super) struct Follow {
    pub(super) client: Client,
    pub(super) keys: Keys,
    pub(super) timeout: Duration,
    pub(super) check_every: Duration,
    pub(super) committed: watch::Sender<Records>,
    pub(super) standing: watch::Sender<Standing>,
    pub(super) revision: i64,
    pub(super) stop: CancellationToken,
    /// How long without a successful check before the node counts as cut off (the lease TTL:
    /// as long as a leader keeps its leadership without etcd); one failed request to a dead
    /// member, retried on another, is not isolation.
    pub(super) grace: Duration,
    /// When a check last succeeded.
    pub(super) last_ok: Instant,
}

impl Follow {
    /// Who leads, by a linearizable read (fails when no quorum answers).
    async fn check(&self) -> Result<Option<LeaderInfo>, crate::store::StoreError> {
        let name = format!("{}/", self.keys.election());
        let opts = GetOptions::new()
            .with_prefix()
            .with_sort(SortTarget::Create, SortOrder::Ascend)
            .with_limit(1);
        let resp = timed(
            self.timeout,
            "get",
            &name,
            self.client.kv_client().get(name.clone(), Some(opts)),
        )
        .await?;
        Ok(resp
            .kvs()
            .first()
            .and_then(|kv| serde_json::from_slice(kv.value()).ok()))
    }

    /// Record a check's outcome; true if the node just came back from isolation.
    fn stand(&mut self, reached: Option<Option<LeaderInfo>>) -> bool {
        let mut back = false;
        if reached.is_some() {
            self.last_ok = Instant::now();
        } else if self.last_ok.elapsed() < self.grace {
            return false;
        }
        self.standing.send_if_modified(|s| {
            let before = s.clone();
            match reached {
                Some(leader) => {
                    back = s.stale_since.take().is_some();
                    s.leader = leader;
                }
                None => {
                    if s.stale_since.is_none() {
                        tracing::warn!("cut off from etcd: answering the last committed state");
                        s.stale_since = Some(Timestamp::now());
                    }
                }
            }
            if back {
                tracing::info!("etcd reachable again");
            }
            *s != before
        });
        back
    }

    /// Read every record again and publish them; the revision to watch from.
    async fn reload(&mut self) -> bool {
        match super::decisions::load_all(&self.client, &self.keys, self.timeout).await {
            Ok((records, revision)) => {
                self.revision = revision;
                self.committed.send_if_modified(|r| {
                    let changed = **r != records;
                    if changed {
                        *r = Arc::new(records);
                    }
                    changed
                });
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the committed records");
                false
            }
        }
    }
}

pub(super) async fn run(mut f: Follow) {
    let mut backoff = Backoff::default();
    let mut checks = tokio::time::interval(f.check_every);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prefix = f.keys.decisions();
    loop {
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(f.revision + 1)
            .with_progress_notify();
        let mut watcher = f.client.watch_client();
        let watch = tokio::select! {
            () = f.stop.cancelled() => return,
            w = tokio::time::timeout(f.timeout, watcher.watch(prefix.clone(), Some(opts))) => w,
        };
        let mut stream = match watch {
            Ok(Ok(s)) => Some(s),
            _ => {
                f.stand(None);
                None
            }
        };
        // Watch until it breaks; the checks run meanwhile.
        while let Some(s) = stream.as_mut() {
            tokio::select! {
                () = f.stop.cancelled() => return,
                _ = checks.tick() => {
                    let reached = f.check().await.ok();
                    if f.stand(reached) {
                        break;
                    }
                }
                msg = s.message() => {
                    let resp = match msg {
                        Ok(Some(r)) => r,
                        Ok(None) | Err(_) => break,
                    };
                    if resp.canceled() {
                        if resp.compact_revision() > 0 {
                            tracing::warn!(compacted = resp.compact_revision(),
                                "decision watch compacted; reading the records again");
                        }
                        break;
                    }
                    backoff = Backoff::default();
                    let mut updates = Vec::new();
                    for ev in resp.events() {
                        let Some(kv) = ev.kv() else { continue };
                        f.revision = f.revision.max(kv.mod_revision());
                        match ev.event_type() {
                            EventType::Put => match decode(&f.keys, kv) {
                                Ok(r) => updates.push((r.service().clone(), Some(r))),
                                Err(e) => tracing::error!(error = %e, "committed record ignored"),
                            },
                            EventType::Delete => {
                                let key = String::from_utf8_lossy(kv.key());
                                if let Some(s) = key.strip_prefix(&prefix) {
                                    updates.push((s.into(), None));
                                }
                            }
                        }
                    }
                    if !updates.is_empty() {
                        f.committed.send_modify(|r| {
                            let map = Arc::make_mut(r);
                            for (service, record) in updates {
                                match record {
                                    Some(rec) => map.insert(service, rec),
                                    None => map.remove(&service),
                                };
                            }
                        });
                    }
                }
            }
        }
        // Broken, compacted or back from isolation: read everything, then watch again.
        loop {
            let reached = f.check().await.ok();
            let ok = reached.is_some();
            f.stand(reached);
            if ok && f.reload().await {
                break;
            }
            backoff.wait(&f.stop).await;
            if f.stop.is_cancelled() {
                return;
            }
        }
    }
}
