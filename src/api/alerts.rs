//! `POST /v1/alerts/ack`: an operator takes an open alert condition in hand, so the pager
//! (PagerDuty `acknowledge`; webhook and exec sinks see `action = acknowledge`) stops
//! escalating it. The condition stays open until its resolve.

use super::{ApiError, ApiState};
use crate::model::ServiceId;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// The body: the condition's key, as alerts carry it (`failover/crm`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Ack {
    key: String,
}

/// Queue the acknowledge (202): it goes out through the spool like every alert, once, and
/// only if the condition is open or was opened by another node.
pub(super) async fn ack(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<Ack>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    s.inner.token.check(&headers)?;
    let Json(Ack { key }) = body.map_err(ApiError::from_json)?;
    let mut parts = key.split('/');
    let kind = parts.next().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !crate::config::ALERT_KINDS.contains(&kind) {
        return Err(ApiError::BadRequest(format!(
            "key {key:?} is not an alert condition key (KIND/SERVICE..., KIND one of {})",
            crate::config::ALERT_KINDS.join(", ")
        )));
    }
    if s.inner.cfg.alerts.is_empty() {
        return Err(ApiError::Conflict(
            "this node has no [[alert]] sinks; nothing to acknowledge".to_owned(),
        ));
    }
    let by = super::write::operator(&headers);
    let service = parts
        .next()
        .map(|s| ServiceId(s.to_owned()))
        .filter(|id| s.inner.cfg.service(id).is_some());
    if !s.inner.raise.acknowledge(&key, service.as_ref(), &by) {
        return Err(ApiError::Unavailable(
            "the alert queue is full or closed; see the node's log".to_owned(),
        ));
    }
    tracing::info!(key = %key, by = %by, "alert acknowledged by an operator");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"key": key, "by": by, "queued": true})),
    ))
}
