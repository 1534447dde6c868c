//! Operator commands in a cluster: a follower forwards each to the leader's `/v1/commands`
//! (with the operator's own bearer token), so commands are ordered with the automatic
//! decisions by the one node that commits. One hop only: a forwarded command that reaches a
//! node which no longer leads is refused (503) rather than passed on again.

use super::{ApiError, ApiState};
use crate::policy::Command;
use crate::store::LeaderInfo;
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Marks a forwarded command (its value: the forwarding node).
const FORWARDED: &str = "x-switchback-forwarded-by";
/// How long a forwarded command may take on the leader (a commit is one etcd transaction).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Send `command` to the leader and answer what it answers.
pub(super) async fn to_leader(
    s: &ApiState,
    headers: &HeaderMap,
    leader: Option<LeaderInfo>,
    command: &Command,
) -> Result<Json<Value>, ApiError> {
    if let Some(from) = headers.get(FORWARDED).and_then(|v| v.to_str().ok()) {
        return Err(ApiError::Unavailable(format!(
            "forwarded by {from}, but this node no longer leads; try again"
        )));
    }
    // Right after an election the standing may not name the new leader yet: wait briefly.
    let mut leader = match leader {
        Some(l) => Some(l),
        None => {
            let mut standing = s.inner.standing.clone();
            let known = standing.wait_for(|st| st.leader.is_some());
            match tokio::time::timeout(FORWARD_TIMEOUT, known).await {
                Ok(Ok(st)) => st.leader.clone(),
                _ => None,
            }
        }
    };
    let mut retried = false;
    let (node, url, resp) = loop {
        let Some(LeaderInfo {
            node,
            admin: Some(admin),
        }) = leader.clone()
        else {
            return Err(ApiError::Unavailable(
                "no leader is known (election under way or etcd unreachable); try again".into(),
            ));
        };
        let url = format!("{}/v1/commands", admin.trim_end_matches('/'));
        match post(s, headers, &url, command).await? {
            Ok(resp) => break (node, url, resp),
            // Nothing reached the named leader (it died; the standing lags the election by
            // up to one check): once the standing names another leader, send it there, once.
            Err(e) if e.is_connect() && !retried => {
                retried = true;
                tracing::info!(leader = %node, error = %e,
                    "leader unreachable; waiting for the next one to forward to");
                let mut standing = s.inner.standing.clone();
                let moved = standing.wait_for(|st| {
                    st.leader
                        .as_ref()
                        .is_some_and(|l| l.node != node && l.admin.is_some())
                });
                match tokio::time::timeout(FORWARD_TIMEOUT, moved).await {
                    Ok(Ok(st)) => leader = st.leader.clone(),
                    _ => {
                        return Err(ApiError::Unavailable(format!(
                            "leader {node} at {url}: {e}"
                        )));
                    }
                }
            }
            Err(e) => {
                return Err(ApiError::Unavailable(format!(
                    "leader {node} at {url}: {e}"
                )));
            }
        }
    };
    let status =
        StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("leader {node} at {url}: {e}")))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Unavailable(format!("leader {node} at {url}: {e}")))?;
    if status.is_success() {
        tracing::info!(leader = %node, service = %command.service(), "command forwarded to the leader");
        Ok(Json(body))
    } else {
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("(no error text)")
            .to_owned();
        Err(ApiError::Leader {
            leader: node.to_string(),
            error,
            status,
        })
    }
}

/// POST `command` to a leader's `/v1/commands` with the operator's own credentials; the
/// inner error is the transport's (whether anything reached the leader).
async fn post(
    s: &ApiState,
    headers: &HeaderMap,
    url: &str,
    command: &Command,
) -> Result<Result<reqwest::Response, reqwest::Error>, ApiError> {
    let client = reqwest::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .build()
        .map_err(|e| ApiError::Internal(format!("HTTP client: {e}")))?;
    let body = serde_json::to_vec(command).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut req = client
        .post(url)
        .header(FORWARDED, s.inner.cfg.node.id.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for h in ["authorization", "x-switchback-operator"] {
        if let Some(v) = headers.get(h) {
            req = req.header(h, v.as_bytes());
        }
    }
    Ok(req.send().await)
}
