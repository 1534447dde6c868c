//! Drill endpoints: `POST /v1/services/{name}/drill`, `GET /v1/drills`, `GET /v1/drills/{id}`.

use super::write::operator;
use super::{ApiError, ApiState};
use crate::drill::{DEFAULT_HOLD, DrillError, DrillRequest};
use crate::model::{ServiceId, SiteId};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `drill` (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DrillBody {
    /// Target site (default: the first other serving site).
    to: Option<String>,
    /// How long to hold on the target, e.g. `30s` (humantime).
    hold: Option<String>,
    /// Answer only when the drill has finished, with its report.
    #[serde(default)]
    wait: bool,
}

/// `POST /v1/services/{name}/drill {to?, hold?, wait?}`: 202 with the running drill, or 200
/// with the final report when `wait`.
pub(crate) async fn start(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    s.inner.token.check(&headers)?;
    let service = ServiceId(name.clone());
    if s.inner.cfg.service(&service).is_none() {
        return Err(ApiError::UnknownService(name));
    }
    let b: DrillBody = match body {
        None => DrillBody::default(),
        Some(Json(v)) => serde_json::from_value(v)
            .map_err(|e: serde_json::Error| ApiError::BadRequest(e.to_string()))?,
    };
    let hold = match &b.hold {
        None => DEFAULT_HOLD,
        Some(h) => humantime::parse_duration(h)
            .map_err(|e| ApiError::BadRequest(format!("hold {h:?}: {e}")))?,
    };
    let to = b.to.map(SiteId);
    if let Some(to) = &to
        && !s.inner.cfg.sites.contains_key(to)
    {
        return Err(ApiError::BadRequest(format!(
            "unknown site {:?}",
            to.as_str()
        )));
    }
    let Some(drills) = s.inner.console.drills.clone() else {
        return Err(ApiError::Unavailable(
            "drills run on an authority with a decision loop".into(),
        ));
    };
    let req = DrillRequest {
        service,
        to,
        hold,
        by: operator(&headers),
    };
    let (report, done) = drills.start(req).await.map_err(|e| match e {
        DrillError::UnknownService(n) => ApiError::UnknownService(n),
        e @ DrillError::Refused { .. } => ApiError::Conflict(e.to_string()),
        e @ DrillError::Stopped => ApiError::Unavailable(e.to_string()),
    })?;
    if b.wait {
        let report = done
            .await
            .map_err(|_| ApiError::Unavailable("the node stopped during the drill".into()))?;
        return Ok((StatusCode::OK, Json(json!({ "drill": report }))));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "drill": report }))))
}

/// `GET /v1/drills`: running and finished drills, newest first.
pub(crate) async fn list(State(s): State<ApiState>) -> Json<Value> {
    let drills = s
        .inner
        .console
        .drills
        .as_ref()
        .map(crate::drill::Drills::all)
        .unwrap_or_default();
    Json(json!({ "drills": drills }))
}

/// `GET /v1/drills/{id}`: one drill's full report.
pub(crate) async fn one(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let drills = s
        .inner
        .console
        .drills
        .as_ref()
        .map(crate::drill::Drills::all)
        .unwrap_or_default();
    drills
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| Json(json!({ "drill": d })))
        .ok_or_else(|| ApiError::NotFound(format!("no drill {id:?}")))
}
