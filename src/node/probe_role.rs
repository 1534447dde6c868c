//! The probe role's plumbing: load the probes files, run the [`Prober`], and deliver its
//! observations — straight into the local decision task on an authority, signed over HTTP to
//! `[votes] authorities` on a probe-only node (`node::push`).

use crate::config::Config;
use crate::model::Observation;
use crate::probe::defs;
use crate::probe::{ProbeError, Prober};
use crate::tally::Verifier;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Builds the prober for this node's config.
pub(crate) fn prober(cfg: &Config) -> Result<Prober, ProbeRoleError> {
    let files = defs::load_all(cfg).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        ProbeRoleError::Definitions(lines.join("\n"))
    })?;
    Prober::new(cfg, files).map_err(ProbeRoleError::Probe)
}

/// Why the probe role cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProbeRoleError {
    /// A probes file is invalid (one `file:line: key: problem` per line).
    #[error("invalid probe definitions:\n{0}")]
    Definitions(String),
    /// The prober cannot start (e.g. no ICMP socket).
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

/// Whether this node pushes its observations over HTTP (a probe-only node; see `node::push`).
pub(crate) fn pushes(cfg: &Config) -> bool {
    cfg.has_role(crate::config::Role::Probe) && !cfg.has_role(crate::config::Role::Authority)
}

/// Signs each of this authority's own observations and publishes it on the cluster's vote
/// board (whoever leads verifies and counts it). Only the newest matters: a backlog is
/// skipped; a failed publish is logged and the next observation tries again.
pub(crate) async fn publish(
    mut rx: mpsc::Receiver<Observation>,
    board: std::sync::Arc<dyn crate::store::VoteBoard>,
    key: Vec<u8>,
    ttl: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let mut obs = tokio::select! {
            () = shutdown.cancelled() => return,
            o = rx.recv() => match o { Some(o) => o, None => return },
        };
        while let Ok(newer) = rx.try_recv() {
            obs = newer;
        }
        let signed = Verifier::sign_with_id(&key, 0, &obs);
        if let Err(e) = board.publish(&signed, ttl).await {
            tracing::warn!(error = %e, seq = obs.seq, "own vote not published");
        }
    }
}
