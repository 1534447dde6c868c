//! Prometheus Alertmanager v2: `POST /api/v2/alerts` with one alert.
//!
//! Labels are the condition only (`alertname`, `service`, `dedup_key`, `severity`), the same on
//! every node, so Alertmanager folds copies from several nodes into one alert; who raised it
//! and why are annotations. A trigger is sent with `endsAt` [`OPEN_FOR`] ahead (Alertmanager
//! would otherwise time it out after its `resolve_timeout`), a resolve with `endsAt` = when it
//! resolved, a notice with `endsAt` [`NOTICE_FOR`] ahead.

use super::{DeliveryError, post};
use crate::alert::event::{Action, AlertEvent, rfc3339};
use std::time::Duration;

/// How long an open condition stays firing without its resolve.
pub(crate) const OPEN_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a notice shows as firing.
const NOTICE_FOR: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub(super) struct Alertmanager {
    pub(super) client: reqwest::Client,
    pub(super) url: String,
}

/// The one-alert body of `e`.
pub(crate) fn body(e: &AlertEvent) -> serde_json::Value {
    let ends = match e.action {
        Action::Trigger => e.at.add(OPEN_FOR),
        Action::Resolve => e.at,
        Action::Notice => e.at.add(NOTICE_FOR),
        // Never sent: Alertmanager has no acknowledge (see `takes`); keep the alert firing.
        Action::Acknowledge => e.at.add(OPEN_FOR),
    };
    let name = format!("switchback_{}", e.kind);
    let mut labels = serde_json::json!({
        "alertname": name,
        "dedup_key": e.key,
        "severity": e.severity.as_str(),
        "source": "switchback",
    });
    if let Some(s) = &e.service {
        labels["service"] = s.as_str().into();
    }
    let sites: Vec<&str> = e.sites.iter().map(|s| s.as_str()).collect();
    let annotations = serde_json::json!({
        "summary": e.summary,
        "reason": e.reason,
        "event": e.event,
        "node": e.node.as_str(),
        "sites": sites.join(","),
        "epoch": e.epoch.map(|x| x.to_string()).unwrap_or_default(),
        "count": e.count.to_string(),
        "id": e.id(),
        "details": serde_json::to_string(&e.details).unwrap_or_default(),
    });
    serde_json::json!([{
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(e.at),
        "endsAt": rfc3339(ends),
    }])
}

impl Alertmanager {
    pub(super) async fn deliver(&self, e: &AlertEvent) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&body(e)).unwrap_or_default();
        post(&self.client, &self.url, body, &[]).await
    }
}
