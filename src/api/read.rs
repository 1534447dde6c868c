//! Read-only endpoints: dashboard, readiness, metrics, status, votes, history.

use super::{ApiError, ApiState};
use crate::model::ServiceId;
use crate::policy::ServiceStatus;
use crate::store::HistoryQuery;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /`: the dashboard page.
pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

/// `GET /ready`: 200 once ready (a latch), else 503.
pub(crate) async fn ready(State(s): State<ApiState>) -> impl IntoResponse {
    if s.inner.standing.borrow().is_stale() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "stale: cut off from the cluster\n",
        )
    } else if s.inner.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], {
        let mut text = s.inner.metrics.render(s.inner.readiness.is_ready());
        super::exposition::render(&s, &mut text);
        text += &super::cluster::metrics(&s.inner.cfg, &s.inner.standing.borrow());
        text
    })
}

/// One service's status as the API shows it: the engine's view with `service` named `name`.
pub(crate) fn status_json(st: &ServiceStatus) -> Result<Value, ApiError> {
    let mut v = serde_json::to_value(st).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(obj) = v.as_object_mut()
        && let Some(name) = obj.remove("service")
    {
        obj.insert("name".to_owned(), name);
    }
    Ok(v)
}

/// `GET /v1/status`.
pub(crate) async fn status(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let statuses = s.inner.decide.view().status;
    let mut services = statuses
        .iter()
        .map(status_json)
        .collect::<Result<Vec<_>, _>>()?;
    // Per service, what each enactor on this node last did: `enactment: {dns: …, route: …}`.
    let reports = s.inner.reports.snapshot();
    for (st, v) in statuses.iter().zip(services.iter_mut()) {
        let mut enactment = serde_json::Map::new();
        for (enactor, per) in &reports {
            if let Some(a) = per.get(&st.service) {
                let a = serde_json::to_value(a).map_err(|e| ApiError::Internal(e.to_string()))?;
                enactment.insert((*enactor).to_owned(), a);
            }
        }
        if let Some(obj) = v.as_object_mut() {
            obj.insert("enactment".to_owned(), Value::Object(enactment));
        }
    }
    let roster = s.inner.console.roster.members();
    let cluster = super::cluster::status(&s.inner.cfg, &s.inner.standing.borrow(), &roster);
    Ok(Json(json!({ "services": services, "cluster": cluster })))
}

/// `GET /v1/votes`.
pub(crate) async fn votes(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let votes = s.inner.decide.published.borrow().votes.clone();
    serde_json::to_value(votes)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /v1/checks`: this node's own checks (empty on a node without the probe role).
pub(crate) async fn checks(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let checks = s
        .inner
        .checks
        .as_ref()
        .map(crate::probe::StatusHandle::snapshot)
        .unwrap_or_default();
    serde_json::to_value(checks)
        .map(|checks| Json(serde_json::json!({ "checks": checks })))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Query of `GET /v1/history`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    service: Option<String>,
    limit: Option<usize>,
}

/// Default and maximum number of history records per request.
const HISTORY_DEFAULT: usize = 100;
const HISTORY_MAX: usize = 10_000;

/// `GET /v1/history?service=&limit=`: audit records, newest first.
pub(crate) async fn history(
    State(s): State<ApiState>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let service = match p.service.filter(|s| !s.is_empty()) {
        Some(name) => {
            let id = ServiceId(name);
            if s.inner.cfg.service(&id).is_none() {
                return Err(ApiError::UnknownService(id.0));
            }
            Some(id)
        }
        None => None,
    };
    let query = HistoryQuery {
        service,
        limit: Some(p.limit.unwrap_or(HISTORY_DEFAULT).min(HISTORY_MAX)),
    };
    let records = s
        .inner
        .audit
        .history(&query)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(json!({ "records": records })))
}
