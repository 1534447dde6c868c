//! Committed serving health → `degraded/<service>` alerts: a serving site down by quorum, or
//! the active site no longer seen up, without (yet) a switch. Every node derives it from the
//! same committed records, so every node raises the same key. A service counts as degraded
//! by the flag only after it was once seen healthy: at start nothing is seen up yet.

use super::event::{Action, AlertEvent};
use super::from_policy::severity_of;
use crate::config::Config;
use crate::model::{NodeId, ServiceId, ServiceRecord, SiteId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The last degraded state seen per service.
#[derive(Debug, Default)]
pub struct Degraded {
    seen: BTreeMap<ServiceId, (bool, BTreeSet<SiteId>)>,
    healthy_once: BTreeSet<ServiceId>,
}

impl Degraded {
    /// Alerts for what changed in `records`.
    pub fn update(
        &mut self,
        cfg: &Config,
        node: &NodeId,
        records: &BTreeMap<ServiceId, ServiceRecord>,
        now: Timestamp,
    ) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for s in &cfg.services {
            let Some(r) = records.get(&s.name) else {
                continue;
            };
            if !r.health.degraded {
                self.healthy_once.insert(s.name.clone());
            }
            let flag = r.health.degraded && self.healthy_once.contains(&s.name);
            let state = (flag, r.health.down.clone());
            let bad = state.0 || !state.1.is_empty();
            let before = self.seen.insert(s.name.clone(), state.clone());
            if before.as_ref() == Some(&state) {
                continue;
            }
            let was_bad = before.is_some_and(|(d, down)| d || !down.is_empty());
            if !bad && !was_bad {
                continue;
            }
            let active = &r.committed.decision.active_site;
            let down: Vec<&str> = state.1.iter().map(|x| x.as_str()).collect();
            let summary = if bad {
                format!(
                    "{}: degraded (active {active}{}; down: {})",
                    s.name,
                    if state.0 {
                        " not seen up or switch pending"
                    } else {
                        ""
                    },
                    if down.is_empty() {
                        "none".to_owned()
                    } else {
                        down.join(",")
                    }
                )
            } else {
                format!("{}: no longer degraded", s.name)
            };
            let mut e = AlertEvent::new(
                "degraded",
                if bad { "degraded" } else { "healthy" },
                if bad {
                    Action::Trigger
                } else {
                    Action::Resolve
                },
                format!("degraded/{}", s.name),
                severity_of("degraded"),
                summary,
                node.clone(),
                now,
            )
            .service(&s.name)
            .sites(state.1.iter())
            .epoch(r.committed.decision.epoch);
            if !bad {
                e = e.only_if_open();
            }
            out.push(e);
        }
        out
    }
}
