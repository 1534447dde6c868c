//! Rate-limited log lines for rejected votes: one line per peer per [`WINDOW`], carrying how
//! many were suppressed before it. Every rejection is still counted in the metrics; only the
//! log is quiet, so 3,000 forged votes cannot flood the log (issue #13).
//!
//! The peer is whatever node name the vote claims, so the table is capped: past [`PEERS`]
//! names, the rest share one entry.

use super::Rejected;
use crate::model::NodeId;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// One log line per peer per window.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// Peers tracked one by one; more share one entry.
const PEERS: usize = 1024;

/// Per-peer windows (pure: `now` is passed in).
#[derive(Debug, Default)]
pub struct RejectLog {
    peers: HashMap<NodeId, (Instant, u64)>,
    others: Option<(Instant, u64)>,
}

impl RejectLog {
    /// Whether to log a rejection from `peer` now; `Some(n)` with the number suppressed since
    /// the last line, `None` to stay quiet.
    pub fn admit(&mut self, peer: &NodeId, now: Instant) -> Option<u64> {
        let full = self.peers.len() >= PEERS && !self.peers.contains_key(peer);
        let slot = if full {
            self.others.get_or_insert((now, u64::MAX))
        } else {
            self.peers.entry(peer.clone()).or_insert((now, u64::MAX))
        };
        // u64::MAX marks a fresh entry: its first rejection is logged.
        if slot.1 == u64::MAX || now.duration_since(slot.0) >= WINDOW {
            let suppressed = if slot.1 == u64::MAX { 0 } else { slot.1 };
            *slot = (now, 0);
            Some(suppressed)
        } else {
            slot.1 += 1;
            None
        }
    }
}

static LOG: LazyLock<Mutex<RejectLog>> = LazyLock::new(Mutex::default);

/// Logs a rejected vote as a warning, at most once per peer per `WINDOW`.
pub fn log_rejected(r: &Rejected, by: &'static str) {
    let admitted = LOG
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .admit(r.node(), Instant::now());
    if let Some(suppressed) = admitted {
        tracing::warn!(peer = %r.node(), reason = r.label(), suppressed,
            "vote dropped by the {by}: {r}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_peer_per_window_with_the_count_suppressed() {
        let mut log = RejectLog::default();
        let t0 = Instant::now();
        let (a, b) = (NodeId::from("a"), NodeId::from("b"));
        assert_eq!(log.admit(&a, t0), Some(0));
        assert_eq!(log.admit(&b, t0), Some(0), "peers are limited separately");
        for i in 1..=100 {
            assert_eq!(log.admit(&a, t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.admit(&a, t0 + WINDOW), Some(100));
        // Forged names beyond the cap share one entry.
        for i in 0..PEERS + 10 {
            let _ = log.admit(&NodeId::from(format!("forged{i}").as_str()), t0);
        }
        assert!(log.peers.len() <= PEERS);
    }
}
