//! Per-check status (state, last result, last error, last RTT) shared with the admin API.

use super::evidence::Evidence;
use crate::model::{CheckName, Health, Layer, SiteId, Timestamp};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What is known about one check now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckStatus {
    /// Its name.
    pub name: CheckName,
    /// The site measured; `None` for a self-check.
    pub site: Option<SiteId>,
    /// The layer measured.
    pub layer: Layer,
    /// Its kind keyword (`http`, `icmp`, ...).
    pub kind: &'static str,
    /// State after rise/fall.
    pub state: Health,
    /// Result of the last attempt, if any ran.
    pub last_ok: Option<bool>,
    /// Detail of the last failed attempt, kept until the next failure.
    pub last_error: Option<String>,
    /// RTT of the last attempt that measured one.
    pub last_rtt: Option<Duration>,
    /// Detail of the last attempt.
    pub detail: String,
    /// Attempts so far.
    pub runs: u64,
    /// Failed attempts so far.
    pub failures: u64,
    /// The last state change, if any.
    pub last_change: Option<StateChange>,
    /// Set while the last attempt failed because of this prober (EMFILE, no route from this
    /// host, ...): the check abstains and so does the node's vote (`probe::kinds::local`).
    pub local: Option<String>,
    /// Evidence of the last failed attempt (`definitive`, `ambiguous`, `local`).
    pub last_evidence: Option<Evidence>,
    /// Up, but more of the recent window failed than `up_ratio` (loss, not an outage).
    pub degraded: bool,
    /// `silence` timeouts in a row (no reply at all).
    pub silent: bool,
    /// What made the check down, when it is: `definitive` failures or a window of silence.
    pub down_by: Option<Evidence>,
}

/// One state change of a check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateChange {
    /// State before.
    pub from: Health,
    /// State after.
    pub to: Health,
    /// When it changed.
    pub at: Timestamp,
    /// Consecutive results that caused it (`rise` or `fall`).
    pub after: u32,
    /// The detail of the attempt that tipped it.
    pub why: String,
}

/// A cheap, cloneable view of every check's status, usable while the prober runs.
#[derive(Clone, Debug, Default)]
pub struct StatusHandle(pub(crate) Arc<Mutex<Vec<CheckStatus>>>);

impl StatusHandle {
    /// A copy of every check's status, in load order.
    pub fn snapshot(&self) -> Vec<CheckStatus> {
        self.0.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Total attempts over all checks (for benchmarks and metrics).
    pub fn total_runs(&self) -> u64 {
        self.0
            .lock()
            .map(|g| g.iter().map(|c| c.runs).sum())
            .unwrap_or(0)
    }
}
