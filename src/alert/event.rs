//! [`AlertEvent`]: what one alert says, the same JSON every sink starts from.
//!
//! Its [`AlertEvent::key`] names the *condition* (`failover/crm`, `quorum_lost/crm`,
//! `enactment/crm/dns/bj-edge-1`), never the node that noticed it or when: every node that
//! raises the same decision event computes the same key, so the pager shows one incident.
//! A trigger and its resolve share the key.

use crate::config::{AlertFilter, Severity};
use crate::model::{Epoch, NodeId, ServiceId, SiteId, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Whether an alert opens, closes or only reports a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The condition holds (opens or updates the incident).
    Trigger,
    /// The condition is over.
    Resolve,
    /// A one-off fact (switch enacted, test): nothing to resolve later.
    Notice,
    /// An operator has taken the open condition in hand (`switchback alert ack`): the pager
    /// stops escalating it; it stays open until its resolve.
    Acknowledge,
}

impl Action {
    /// `trigger`, `resolve`, `notice`, `acknowledge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
            Action::Notice => "notice",
            Action::Acknowledge => "acknowledge",
        }
    }
}

/// One alert, as spooled and delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The condition (`failover`, `quorum_lost`, … — `config::ALERT_KINDS`); trigger and
    /// resolve of one condition share it, so one `kinds` filter keeps both.
    pub kind: String,
    /// What exactly happened (`failover`, `failback`, `operator_switch`, `approved`, …).
    pub event: String,
    /// Opens, closes or reports.
    pub action: Action,
    /// The stable dedup key of the condition, the same on every node.
    pub key: String,
    /// How urgent.
    pub severity: Severity,
    /// The service concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceId>,
    /// The sites concerned (active, target, down).
    #[serde(default)]
    pub sites: Vec<SiteId>,
    /// The service's epoch the event belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<Epoch>,
    /// One line for a human: what happened.
    pub summary: String,
    /// Why (the decision's reason: which probes, which layers).
    #[serde(default)]
    pub reason: String,
    /// The node that raised it.
    pub node: NodeId,
    /// When it happened (wall clock, ms since the Unix epoch).
    pub at: Timestamp,
    /// Extra facts by name (deadline, how to approve, who, per-enactor durations).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// How many times the condition opened within the flap window (noise control); 1 normally.
    #[serde(default = "one")]
    pub count: u32,
    /// A resolve that only matters if this node opened the condition (an enactor that works
    /// again): dropped when the condition is not known open. Not sent.
    #[serde(default, skip_serializing)]
    pub only_if_open: bool,
}

fn one() -> u32 {
    1
}

impl AlertEvent {
    /// A new event with no sites, epoch, reason or details yet.
    #[allow(clippy::too_many_arguments)] // every one is required; the builders add the rest
    pub fn new(
        kind: &str,
        event: &str,
        action: Action,
        key: String,
        severity: Severity,
        summary: String,
        node: NodeId,
        at: Timestamp,
    ) -> Self {
        Self {
            kind: kind.to_owned(),
            event: event.to_owned(),
            action,
            key,
            severity,
            service: None,
            sites: Vec::new(),
            epoch: None,
            summary,
            reason: String::new(),
            node,
            at,
            details: BTreeMap::new(),
            count: 1,
            only_if_open: false,
        }
    }

    /// With its service.
    pub fn service(mut self, s: &ServiceId) -> Self {
        self.service = Some(s.clone());
        self
    }

    /// With its sites.
    pub fn sites<'a>(mut self, s: impl IntoIterator<Item = &'a SiteId>) -> Self {
        self.sites = s.into_iter().cloned().collect();
        self
    }

    /// With its epoch.
    pub fn epoch(mut self, e: Epoch) -> Self {
        self.epoch = Some(e);
        self
    }

    /// With its reason.
    pub fn reason(mut self, r: impl Into<String>) -> Self {
        self.reason = r.into();
        self
    }

    /// A resolve dropped unless the condition is known open.
    pub fn only_if_open(mut self) -> Self {
        self.only_if_open = true;
        self
    }

    /// With one more detail.
    pub fn detail(mut self, k: &str, v: impl Into<String>) -> Self {
        self.details.insert(k.to_owned(), v.into());
        self
    }

    /// An idempotency id for receivers: the same for the same condition change on every node
    /// (key, action, event, epoch), so a redelivery or another node's copy can be dropped.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.key.as_str(),
            self.action.as_str(),
            self.event.as_str(),
            &self.epoch.map(|e| e.0.to_string()).unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..12])
    }

    /// Whether a sink with `filter` takes this event.
    pub fn passes(&self, filter: &AlertFilter) -> bool {
        self.severity >= filter.min_severity
            && (filter.kinds.is_empty() || filter.kinds.iter().any(|k| k == &self.kind))
            && (filter.services.is_empty()
                || self
                    .service
                    .as_ref()
                    .is_none_or(|s| filter.services.iter().any(|f| f == s.as_str())))
    }

    /// The event as the JSON document webhook and exec sinks receive.
    pub fn document(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("id".into(), self.id().into());
            o.insert("version".into(), 1.into());
            o.insert("at_rfc3339".into(), rfc3339(self.at).into());
        }
        v
    }
}

/// A timestamp as RFC 3339 (UTC, milliseconds), as Alertmanager and PagerDuty want it.
pub fn rfc3339(at: Timestamp) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at.0);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: Action, at: u64) -> AlertEvent {
        AlertEvent::new(
            "failover",
            "failover",
            action,
            "failover/crm".into(),
            Severity::Critical,
            "crm moved".into(),
            NodeId::from("n1"),
            Timestamp(at),
        )
        .service(&ServiceId::from("crm"))
        .epoch(Epoch(2))
    }

    #[test]
    fn id_is_the_same_on_every_node_and_differs_between_trigger_and_resolve() {
        let mut other = ev(Action::Trigger, 99);
        other.node = NodeId::from("n2");
        assert_eq!(ev(Action::Trigger, 1).id(), other.id());
        assert_ne!(ev(Action::Trigger, 1).id(), ev(Action::Resolve, 1).id());
    }

    #[test]
    fn filters() {
        let e = ev(Action::Trigger, 1);
        assert!(e.passes(&AlertFilter::default()));
        let f = AlertFilter {
            min_severity: Severity::Critical,
            kinds: vec!["failover".into()],
            services: vec!["crm".into()],
        };
        assert!(e.passes(&f));
        assert!(!e.passes(&AlertFilter {
            services: vec!["billing".into()],
            ..f.clone()
        }));
        assert!(!e.passes(&AlertFilter {
            kinds: vec!["quorum_lost".into()],
            ..f.clone()
        }));
        let mut info = e.clone();
        info.severity = Severity::Info;
        assert!(!info.passes(&f));
    }

    #[test]
    fn rfc3339_is_utc_millis() {
        assert_eq!(rfc3339(Timestamp(1_000)), "1970-01-01T00:00:01.000Z");
    }
}
