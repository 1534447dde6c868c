//! Operator commands: token-checked, sent to the decision task, answered once committed.

use super::{ApiError, ApiState};
use crate::decide::CommandFailure;
use crate::model::{ServiceId, SiteId};
use crate::policy::{Command, CommandError};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Who issued a command: the `X-Switchback-Operator` header, else a generic name.
pub(crate) fn operator(headers: &HeaderMap) -> String {
    headers
        .get("x-switchback-operator")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(64).collect())
        .unwrap_or_else(|| "admin-api".to_owned())
}

/// Token, then a configured service.
pub(super) fn admit_service(
    s: &ApiState,
    headers: &HeaderMap,
    name: &str,
) -> Result<ServiceId, ApiError> {
    s.inner.token.check(headers)?;
    let service = ServiceId(name.to_owned());
    if s.inner.cfg.service(&service).is_none() {
        return Err(ApiError::UnknownService(name.to_owned()));
    }
    Ok(service)
}

/// Token, known service and a well-formed body, in that order.
fn admit<T: DeserializeOwned>(
    s: &ApiState,
    headers: &HeaderMap,
    name: &str,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(ServiceId, T), ApiError> {
    let service = admit_service(s, headers, name)?;
    let Json(body) = body.map_err(ApiError::from_json)?;
    Ok((service, body))
}

fn site(s: &ApiState, site: String) -> Result<SiteId, ApiError> {
    let id = SiteId(site);
    if s.inner.cfg.sites.contains_key(&id) {
        Ok(id)
    } else {
        let known: Vec<_> = s.inner.cfg.sites.keys().map(|k| k.as_str()).collect();
        Err(ApiError::BadRequest(format!(
            "unknown site {:?} (configured: {})",
            id.as_str(),
            known.join(", ")
        )))
    }
}

/// Run the command (here, or on the leader when another authority leads) and answer with the
/// service's status after it and the node that committed it.
pub(super) async fn run(
    s: &ApiState,
    headers: &HeaderMap,
    service: &ServiceId,
    command: Command,
) -> Result<Json<Value>, ApiError> {
    if !s.inner.cfg.has_role(crate::config::Role::Authority) {
        return Err(ApiError::Conflict(format!(
            "node {} is probe-only: it does not decide; send operator commands to an authority",
            s.inner.cfg.node.id
        )));
    }
    match s.inner.decide.command(command.clone()).await {
        Ok(_) => s.inner.console.command(s.inner.clock.now(), &command),
        Err(CommandFailure::NotLeader { leader }) => {
            return super::forward::to_leader(s, headers, leader, &command).await;
        }
        Err(CommandFailure::Refused(e)) => return Err(refused(e)),
        Err(CommandFailure::Stopped) => {
            return Err(ApiError::Unavailable(
                "the node is shutting down".to_owned(),
            ));
        }
        Err(e @ CommandFailure::Store(_)) => return Err(ApiError::Internal(e.to_string())),
    }
    let published = s.inner.decide.view();
    let status = published
        .status
        .iter()
        .find(|st| &st.service == service)
        .map(super::read::status_json)
        .transpose()?;
    Ok(Json(
        json!({ "service": status, "committed_by": s.inner.cfg.node.id.as_str() }),
    ))
}

/// How the decision core's refusals map to HTTP.
pub(super) fn refused(e: CommandError) -> ApiError {
    match e {
        CommandError::UnknownService { service } => ApiError::UnknownService(service.0),
        CommandError::UnknownSite { .. } | CommandError::NotServing { .. } => {
            ApiError::BadRequest(e.to_string())
        }
        _ => ApiError::Conflict(e.to_string()),
    }
}

/// Body of `switch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwitchBody {
    to: String,
    reason: String,
    #[serde(default)]
    force: bool,
}

/// `POST /v1/services/{name}/switch {to, reason, force?}`.
pub(crate) async fn switch(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<SwitchBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (service, b) = admit(&s, &headers, &name, body)?;
    // The reason is the audit log's only account of why a person moved a service.
    if b.reason.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "reason is empty: say why the service is moved".to_owned(),
        ));
    }
    let to = site(&s, b.to)?;
    let cmd = Command::Switch {
        service: service.clone(),
        to,
        reason: b.reason,
        by: operator(&headers),
        force: b.force,
    };
    run(&s, &headers, &service, cmd).await
}

/// `POST /v1/services/{name}/approve`.
pub(crate) async fn approve(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let service = admit_service(&s, &headers, &name)?;
    let cmd = Command::Approve {
        service: service.clone(),
        by: operator(&headers),
    };
    run(&s, &headers, &service, cmd).await
}

/// `POST /v1/services/{name}/reject`.
pub(crate) async fn reject(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let service = admit_service(&s, &headers, &name)?;
    let cmd = Command::Reject {
        service: service.clone(),
        by: operator(&headers),
    };
    run(&s, &headers, &service, cmd).await
}

/// Body of `maintenance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaintenanceBody {
    on: bool,
}

/// `POST /v1/services/{name}/maintenance {on}`.
pub(crate) async fn maintenance(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<MaintenanceBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (service, b) = admit(&s, &headers, &name, body)?;
    let cmd = Command::Maintenance {
        service: service.clone(),
        on: b.on,
        by: operator(&headers),
    };
    run(&s, &headers, &service, cmd).await
}

/// Body of `readmit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadmitBody {
    site: String,
}

/// `POST /v1/services/{name}/readmit {site}`.
pub(crate) async fn readmit(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ReadmitBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (service, b) = admit(&s, &headers, &name, body)?;
    let site = site(&s, b.site)?;
    let cmd = Command::Readmit {
        service: service.clone(),
        site,
        by: operator(&headers),
    };
    run(&s, &headers, &service, cmd).await
}

/// `POST /v1/commands`: one command, as the audit log spells it.
pub(crate) async fn command(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<Command>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    s.inner.token.check(&headers)?;
    let Json(command) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let service = admit_service(&s, &headers, command.service().as_str())?;
    run(&s, &headers, &service, command).await
}
