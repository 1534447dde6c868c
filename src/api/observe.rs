//! `POST /v1/observations`: a probe node's signed observation, verified at the door (to answer
//! the probe and count refusals by reason in `/metrics`) then published on the vote board,
//! where the leader verifies it again. Nothing here panics.

use super::{ApiError, ApiState};
use crate::tally::{Rejected, SignedObservation};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde_json::{Value, json};

fn status_of(r: &Rejected) -> StatusCode {
    match r {
        Rejected::BadSignature { .. } | Rejected::UnknownVoter { .. } => StatusCode::UNAUTHORIZED,
        Rejected::DomainMismatch { .. } => StatusCode::FORBIDDEN,
        Rejected::Replayed { .. } => StatusCode::CONFLICT,
        Rejected::Stale { .. } | Rejected::FromFuture { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Verify and forward one signed observation.
pub(crate) async fn observation(
    State(s): State<ApiState>,
    body: Result<Json<SignedObservation>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let metrics = &s.inner.metrics;
    let Json(signed) = body.map_err(|e| {
        metrics.observation_dropped("malformed");
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge(e.body_text());
        }
        ApiError::Rejected {
            reason: "malformed",
            detail: e.body_text(),
            status: StatusCode::BAD_REQUEST,
        }
    })?;
    let now = s.inner.clock.now();
    let verified = {
        let mut v = s.inner.verifier.lock().unwrap_or_else(|p| p.into_inner());
        v.verify(&signed, now)
    };
    let obs = verified.map_err(|r| {
        metrics.observation_dropped(r.label());
        crate::tally::log_rejected(&r, "admin API");
        ApiError::Rejected {
            reason: r.label(),
            detail: r.to_string(),
            status: status_of(&r),
        }
    })?;
    metrics.observation_accepted();
    // A vote older than `stale_after` no longer counts: let the board forget it then.
    s.inner
        .votes
        .publish(&signed, s.inner.cfg.votes.stale_after)
        .await
        .map_err(|e| ApiError::Unavailable(format!("vote board: {e}")))?;
    Ok(Json(json!({ "accepted": true, "seq": obs.seq })))
}
