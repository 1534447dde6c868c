//! The alert enactor: events → noise control → a durable spool per sink → delivery.
//!
//! ```text
//!   decide: DurableEvent ─ from_policy ─┐
//!   enact: Reports::subscribe ─ enacted ┤
//!   committed health ─ degraded ────────┼─▶ Raise ─▶ Feed: Noise ─▶ Spool (per sink, fsync)
//!   other parts (isolation, drills) ────┘                              │
//!                                        Worker (per sink): deliver ◀──┘ ack / retry / dead
//! ```
//!
//! - [`event`]: [`AlertEvent`], its dedup key (the same on every node) and idempotency id.
//! - [`from_policy`], [`enacted`], [`degraded`]: what raises which alert.
//! - [`noise`]: repeats dropped, flapping summarised.
//! - [`spool`]: on disk before delivery, gone only once acknowledged; survives kill -9.
//! - [`sink`]: webhook (HMAC), Alertmanager v2, PagerDuty Events v2, exec.
//! - [`worker`]: in-order delivery per sink, backoff with jitter, dead letters after `max_age`.

pub mod degraded;
pub mod enacted;
pub mod event;
pub mod exposition;
mod feed;
pub mod from_policy;
pub mod noise;
pub mod sink;
pub mod spool;
pub mod worker;

pub use event::{Action, AlertEvent};
pub use feed::{Feed, Raise};
pub use sink::{DeliveryError, SecretError, Sink};
pub use spool::SpoolError;
pub use worker::Worker;

use crate::config::AlertSink;
use crate::model::NodeId;
use feed::Outlet;
use noise::Noise;
use spool::Spool;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use worker::WallClock;

/// The running parts: the handle, the feed task and one worker per sink.
pub struct Alerts {
    /// Raises alerts.
    pub raise: Raise,
    /// Runs noise control and spools.
    pub feed: Feed,
    /// Deliver, one per sink.
    pub workers: Vec<Worker>,
    /// Spool depth per sink and dropped alerts, for `/metrics`.
    pub exposition: Arc<exposition::AlertExposition>,
}

/// Open every sink's spool under `state_dir/alerts/` and build the feed and workers.
///
/// A secret file that cannot be read is an error (the node must not run with a sink it cannot
/// use); a spool that cannot be opened is reported and that sink delivers from memory.
pub fn start(
    sinks: &[AlertSink],
    node: NodeId,
    state_dir: &Path,
    now: WallClock,
) -> Result<Alerts, SecretError> {
    let dir = state_dir.join("alerts");
    let mut outlets = Vec::new();
    let mut workers = Vec::new();
    for cfg in sinks {
        let sink = Arc::new(Sink::new(cfg.clone())?);
        let (spool, pending) = match Spool::open(&dir.join(&cfg.name)) {
            Ok((s, pending)) => (Some(Arc::new(Mutex::new(s))), pending),
            Err(e) => {
                tracing::error!(sink = %cfg.name, error = %e,
                    "cannot open the alert spool; this sink delivers from memory only");
                (None, Vec::new())
            }
        };
        if !pending.is_empty() {
            tracing::info!(sink = %cfg.name, pending = pending.len(),
                "resuming alert delivery from the spool");
        }
        let (to_worker, incoming) = mpsc::unbounded_channel();
        workers.push(Worker {
            sink: Arc::clone(&sink),
            spool: spool.clone(),
            queue: VecDeque::from(pending),
            incoming,
            now,
        });
        outlets.push(Outlet {
            sink,
            spool,
            to_worker,
        });
    }
    let noise_path = dir.join("noise.json");
    let noise: Noise = std::fs::read(&noise_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::error!(path = %dir.display(), error = %e, "cannot create the alert folder");
    }
    let (tx, rx) = mpsc::channel(feed::RAISED);
    let dropped = Arc::new(AtomicU64::new(0));
    let raise = Raise {
        tx,
        node,
        now,
        dropped: Arc::clone(&dropped),
    };
    let outlets = Arc::new(outlets);
    let exposition = Arc::new(exposition::AlertExposition {
        outlets: Arc::clone(&outlets),
        dropped,
    });
    let feed = Feed {
        rx,
        noise,
        noise_path,
        outlets,
        now,
    };
    Ok(Alerts {
        raise,
        feed,
        workers,
        exposition,
    })
}
