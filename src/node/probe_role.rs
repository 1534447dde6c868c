//! The probe role's plumbing: load the probes files, run the [`Prober`], and deliver its
//! observations — straight into the local decision task on an authority, signed over HTTP to
//! `[votes] authorities` on a probe-only node.

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

/// Signs each observation and POSTs it to every authority's `/v1/observations`.
///
/// Only the newest observation matters to a tally, so a slow authority gets the latest one
/// when it is ready rather than a growing backlog; each delivery has a short timeout.
pub(crate) async fn push(
    mut rx: mpsc::Receiver<Observation>,
    authorities: Vec<String>,
    key: Vec<u8>,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client for pushing observations");
            return;
        }
    };
    loop {
        let mut obs = tokio::select! {
            () = shutdown.cancelled() => return,
            o = rx.recv() => match o { Some(o) => o, None => return },
        };
        while let Ok(newer) = rx.try_recv() {
            obs = newer;
        }
        let body = match serde_json::to_vec(&Verifier::sign_with_id(&key, 0, &obs)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an observation");
                continue;
            }
        };
        let seq = obs.seq;
        let sends = authorities.iter().map(|base| {
            let url = format!("{}/v1/observations", base.trim_end_matches('/'));
            let req = client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            async move {
                match req.send().await {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => tracing::warn!(authority = %url, status = %r.status(), seq, "observation refused"),
                    Err(e) => tracing::warn!(authority = %url, error = %e, seq, "observation not delivered"),
                }
            }
        });
        futures::future::join_all(sends).await;
    }
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
