//! [`Raise`] (the handle every part raises alerts through) and [`Feed`] (the one task that
//! runs them through noise control and into each matching sink's spool, then wakes the
//! sink's worker).
//!
//! Raising never waits: the channel is bounded and a full one drops the alert with an error
//! line, so a stuck disk can never slow a decision, a DNS answer or a route.

use super::event::{Action, AlertEvent};
use super::from_policy::severity_of;
use super::noise::Noise;
use super::sink::Sink;
use super::spool::{Entry, Spool};
use super::worker::WallClock;
use crate::model::{NodeId, ServiceId};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How many raised alerts may wait for the feed.
pub(super) const RAISED: usize = 16 * 1024;
/// How many alerts one spool write takes at most.
const BATCH: usize = 1024;
/// How often held (flapping) resolves are looked at.
const TICK: Duration = Duration::from_secs(5);

/// Raises alerts; cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Raise {
    pub(super) tx: mpsc::Sender<AlertEvent>,
    pub(super) node: NodeId,
    pub(super) now: WallClock,
    pub(super) dropped: Arc<AtomicU64>,
}

impl Raise {
    /// A handle whose alerts go nowhere (a node without `[[alert]]` sinks).
    pub fn none(node: NodeId) -> Raise {
        let (tx, _) = mpsc::channel(1);
        Raise {
            tx,
            node,
            now: crate::model::Timestamp::now,
            dropped: Arc::default(),
        }
    }

    /// This node's id (alerts carry it).
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Queue `e`; returns false (and logs) if it had to be dropped.
    pub fn raise(&self, e: AlertEvent) -> bool {
        match self.tx.try_send(e) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(e)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(key = %e.key, dropped = n,
                    "alert queue full (spool too slow); alert dropped");
                false
            }
        }
    }

    fn condition(
        &self,
        kind: &str,
        event: &str,
        open: bool,
        key: String,
        summary: String,
    ) -> AlertEvent {
        AlertEvent::new(
            kind,
            event,
            if open {
                Action::Trigger
            } else {
                Action::Resolve
            },
            key,
            severity_of(kind),
            summary,
            self.node.clone(),
            (self.now)(),
        )
    }

    /// This node is cut off from the cluster (or back): `node_isolated/<node>`.
    pub fn node_isolated(&self, isolated: bool, why: &str) -> bool {
        let node = self.node.clone();
        let summary = if isolated {
            format!("node {node} is isolated from the cluster: {why}")
        } else {
            format!("node {node} reaches the cluster again")
        };
        self.raise(
            self.condition(
                "node_isolated",
                if isolated { "isolated" } else { "rejoined" },
                isolated,
                format!("node_isolated/{node}"),
                summary,
            )
            .reason(why),
        )
    }

    /// This node serves a stale committed state (or is fresh again): `node_stale/<node>`.
    pub fn node_stale(&self, stale: bool, why: &str) -> bool {
        let node = self.node.clone();
        let summary = if stale {
            format!("node {node} serves stale state: {why}")
        } else {
            format!("node {node} is up to date again")
        };
        self.raise(
            self.condition(
                "node_stale",
                if stale { "stale" } else { "fresh" },
                stale,
                format!("node_stale/{node}"),
                summary,
            )
            .reason(why),
        )
    }

    /// An operator acknowledged the open condition `key` (`kind/service/...`): the pager
    /// stops escalating it. `service` is the one the key names, for sink filters.
    pub fn acknowledge(&self, key: &str, service: Option<&ServiceId>, by: &str) -> bool {
        let kind = key.split('/').next().unwrap_or_default();
        let mut e = AlertEvent::new(
            kind,
            "acknowledged",
            Action::Acknowledge,
            key.to_owned(),
            severity_of(kind),
            format!("{key} acknowledged by {by}"),
            self.node.clone(),
            (self.now)(),
        )
        .reason(format!("acknowledged by {by}"))
        .detail("by", by);
        if let Some(s) = service {
            e = e.service(s);
        }
        self.raise(e)
    }

    /// A drill of `service` started (`running`) or finished: `drill/<service>`.
    pub fn drill(&self, service: &ServiceId, running: bool, detail: &str) -> bool {
        let summary = if running {
            format!("drill of {service} started: {detail}")
        } else {
            format!("drill of {service} finished: {detail}")
        };
        self.raise(
            self.condition(
                "drill",
                if running {
                    "drill_started"
                } else {
                    "drill_finished"
                },
                running,
                format!("drill/{service}"),
                summary,
            )
            .service(service)
            .reason(detail),
        )
    }
}

/// One sink as the feed sees it.
pub(super) struct Outlet {
    pub(super) sink: Arc<Sink>,
    pub(super) spool: Option<Arc<Mutex<Spool>>>,
    pub(super) to_worker: mpsc::UnboundedSender<Entry>,
}

/// The feed task.
pub struct Feed {
    pub(super) rx: mpsc::Receiver<AlertEvent>,
    pub(super) noise: Noise,
    pub(super) noise_path: PathBuf,
    pub(super) outlets: Arc<Vec<Outlet>>,
    pub(super) now: WallClock,
}

impl Feed {
    /// Run until `shutdown` (or every [`Raise`] is gone).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut batch = Vec::new();
            tokio::select! {
                () = shutdown.cancelled() => return,
                n = self.rx.recv_many(&mut batch, BATCH) => if n == 0 { return },
                _ = tick.tick() => {
                    if !self.noise.has_held() {
                        continue;
                    }
                }
            }
            let now = (self.now)();
            let mut send: Vec<AlertEvent> = batch
                .into_iter()
                .filter_map(|e| self.noise.offer(e, now))
                .collect();
            send.extend(self.noise.tick(now));
            let noise = serde_json::to_vec(&self.noise).unwrap_or_default();
            let path = self.noise_path.clone();
            let outlets = Arc::clone(&self.outlets);
            // Files and fsyncs off the async threads.
            let spooled = tokio::task::spawn_blocking(move || {
                if let Err(e) = save(&path, &noise) {
                    tracing::error!(path = %path.display(), error = %e,
                        "cannot save alert noise state");
                }
                spool(&outlets, send, now);
            })
            .await;
            if let Err(e) = spooled {
                tracing::error!(error = %e, "alert spool task failed");
            }
        }
    }
}

/// Append each event to the spool of every sink whose filter takes it, then hand the entries
/// to the sink's worker. A spool that cannot be written is reported and its events are
/// delivered from memory.
fn spool(outlets: &[Outlet], events: Vec<AlertEvent>, now: crate::model::Timestamp) {
    if events.is_empty() {
        return;
    }
    let mut spooled = vec![0usize; events.len()];
    for o in outlets {
        let mine: Vec<AlertEvent> = events
            .iter()
            .zip(spooled.iter_mut())
            .filter(|(e, _)| o.sink.takes(e))
            .map(|(e, n)| {
                *n += 1;
                e.clone()
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let entries = match &o.spool {
            Some(s) => {
                let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                match s.append(mine.clone(), now) {
                    Ok(entries) => entries,
                    Err(e) => {
                        tracing::error!(sink = %o.sink.cfg.name, error = %e,
                            "cannot spool alerts; delivering from memory (lost on a crash)");
                        in_memory(mine, now)
                    }
                }
            }
            None => in_memory(mine, now),
        };
        for e in entries {
            let _ = o.to_worker.send(e);
        }
    }
    for (e, sinks) in events.iter().zip(spooled) {
        tracing::info!(key = %e.key, action = e.action.as_str(), sinks, summary = %e.summary,
            "alert spooled");
    }
}

fn in_memory(events: Vec<AlertEvent>, now: crate::model::Timestamp) -> Vec<Entry> {
    events
        .into_iter()
        .map(|event| Entry {
            seq: 0,
            spooled_at: now,
            event,
        })
        .collect()
}

/// Write `bytes` to `path` atomically (temp file, fsync, rename).
fn save(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)
}
