//! `POST /v1/reload`: validate the config as `check` does; refuse a bad one with its messages
//! (the node keeps running), else hand over to the SIGHUP reload of `serve`.

use super::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once `serve` handles SIGHUP, so this API may raise it (never in a process whose
/// SIGHUP would terminate it, e.g. a test running the node in-process).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Say that SIGHUP reloads this process's node (`serve` calls it once it handles SIGHUP).
pub fn arm_reload() {
    ARMED.store(true, Ordering::SeqCst);
}

/// `POST /v1/reload` (token).
pub(crate) async fn reload(
    State(s): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    s.inner.token.check(&headers)?;
    let cfg = s.inner.cfg.clone();
    let checked = tokio::task::spawn_blocking(move || crate::check::revalidate(&cfg))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(problems) = checked {
        tracing::error!("reload refused, keeping the running config:\n{problems}");
        return Err(ApiError::BadRequest(format!(
            "reload refused, the node keeps its running config:\n{problems}"
        )));
    }
    if !ARMED.load(Ordering::SeqCst) {
        return Err(ApiError::Unavailable(
            "this process does not reload (only `switchback serve` does)".into(),
        ));
    }
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP)
        .map_err(|e| ApiError::Internal(format!("raise SIGHUP: {e}")))?;
    Ok(Json(
        json!({ "reloading": true, "config": s.inner.cfg.source.display().to_string() }),
    ))
}
