//! PagerDuty Events API v2: `trigger` / `acknowledge` / `resolve` with the condition key as
//! `dedup_key`, so an acknowledge or resolve reaches the incident its trigger opened, and
//! copies from several nodes are one.
//! A notice is a `trigger` of its own key (PagerDuty has no informational event).

use super::{DeliveryError, post};
use crate::alert::event::{Action, AlertEvent, rfc3339};
use crate::config::Severity;

#[derive(Debug)]
pub(super) struct Pagerduty {
    pub(super) client: reqwest::Client,
    pub(super) url: String,
    pub(super) routing_key: String,
}

/// The Events v2 body of `e` (`routing_key` included).
pub(crate) fn body(e: &AlertEvent, routing_key: &str) -> serde_json::Value {
    let action = match e.action {
        Action::Trigger | Action::Notice => "trigger",
        Action::Resolve => "resolve",
        Action::Acknowledge => "acknowledge",
    };
    // PagerDuty caps dedup keys at 255 characters.
    let dedup_key: String = e.key.chars().take(255).collect();
    let mut v = serde_json::json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key,
    });
    if action == "trigger" {
        let severity = match e.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut details = serde_json::to_value(&e.details).unwrap_or_default();
        if let Some(d) = details.as_object_mut() {
            d.insert("reason".into(), e.reason.clone().into());
            d.insert("event".into(), e.event.clone().into());
            d.insert("count".into(), e.count.into());
            if let Some(ep) = e.epoch {
                d.insert("epoch".into(), ep.0.into());
            }
            let sites: Vec<&str> = e.sites.iter().map(|s| s.as_str()).collect();
            d.insert("sites".into(), sites.into());
        }
        // PagerDuty caps summaries at 1024 characters.
        let summary: String = e.summary.chars().take(1024).collect();
        v["payload"] = serde_json::json!({
            "summary": summary,
            "source": e.node.as_str(),
            "severity": severity,
            "timestamp": rfc3339(e.at),
            "component": e.service.as_ref().map(|s| s.as_str()).unwrap_or("switchback"),
            "group": e.kind,
            "class": e.event,
            "custom_details": details,
        });
    }
    v
}

impl Pagerduty {
    pub(super) async fn deliver(&self, e: &AlertEvent) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&body(e, &self.routing_key)).unwrap_or_default();
        post(&self.client, &self.url, body, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    #[test]
    fn an_acknowledge_names_the_incident_and_carries_no_payload() {
        let e = AlertEvent::new(
            "failover",
            "acknowledged",
            Action::Acknowledge,
            "failover/crm".into(),
            Severity::Critical,
            "failover/crm acknowledged by alice".into(),
            "n1".into(),
            Timestamp(0),
        );
        let b = body(&e, "KEY");
        assert_eq!(b["event_action"], "acknowledge");
        assert_eq!(b["dedup_key"], "failover/crm");
        assert!(b.get("payload").is_none(), "{b}");
    }
}
