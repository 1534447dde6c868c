//! Enactment reports ([`Report`] from `Reports::subscribe`) → alerts of this node.
//!
//! - A failed enactment opens `enactment/<service>/<enactor>/<node>` (critical); the next
//!   success of that enactor for that service resolves it.
//! - A switch this node has fully enacted (every enactor it runs reported the epoch) is a
//!   notice `enacted/<service>/<node>` with each enactor's duration and verification. An
//!   epoch some enactor does not report within [`GATHER`] goes out with what came.
//!
//! Keys carry the node: each node enacts for itself, and the pager should show which did not.

use super::event::{Action, AlertEvent};
use super::from_policy::severity_of;
use crate::enact::{Report, Verification};
use crate::model::{Epoch, NodeId, ServiceId, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait for every enactor's report of one epoch.
pub const GATHER: Duration = Duration::from_secs(30);

/// Gathers reports per service and epoch.
#[derive(Debug)]
pub struct Enacted {
    node: NodeId,
    enactors: Vec<&'static str>,
    open: BTreeMap<(ServiceId, Epoch), Gathering>,
}

/// When the first report of one epoch came, and every report so far by enactor.
type Gathering = (Timestamp, BTreeMap<&'static str, Report>);

impl Enacted {
    /// For `node`, which runs `enactors`.
    pub fn new(node: NodeId, enactors: Vec<&'static str>) -> Self {
        Self {
            node,
            enactors,
            open: BTreeMap::new(),
        }
    }

    /// The alerts `report` (received at `now`) completes.
    pub fn report(&mut self, report: Report, now: Timestamp) -> Vec<AlertEvent> {
        let a = &report.applied;
        let (service, epoch, enactor) = (a.service.clone(), a.epoch, report.enactor);
        let key = format!("enactment/{service}/{enactor}/{}", self.node);
        let mut out = Vec::new();
        match &a.error {
            Some(error) => out.push(
                AlertEvent::new(
                    "enactment",
                    "enactment_failed",
                    Action::Trigger,
                    key,
                    severity_of("enactment"),
                    format!(
                        "{enactor} enactment of {service} epoch {epoch} failed on {}",
                        self.node
                    ),
                    self.node.clone(),
                    now,
                )
                .service(&service)
                .epoch(epoch)
                .reason(error.clone())
                .detail("enactor", enactor),
            ),
            None => {
                out.push(
                    AlertEvent::new(
                        "enactment",
                        "enactment_recovered",
                        Action::Resolve,
                        key,
                        severity_of("enactment"),
                        format!("{enactor} enacts {service} again on {}", self.node),
                        self.node.clone(),
                        now,
                    )
                    .service(&service)
                    .epoch(epoch)
                    .detail("enactor", enactor)
                    .only_if_open(),
                );
                // Epoch 1 is the initial decision: nothing switched.
                if epoch.0 > 1 {
                    let slot = self
                        .open
                        .entry((service.clone(), epoch))
                        .or_insert_with(|| (now, BTreeMap::new()));
                    slot.1.insert(enactor, report);
                    if self.enactors.iter().all(|e| slot.1.contains_key(e))
                        && let Some((_, got)) = self.open.remove(&(service.clone(), epoch))
                    {
                        out.push(self.notice(&service, epoch, got, now));
                    }
                }
            }
        }
        out.extend(self.due(now));
        out
    }

    /// Epochs that waited [`GATHER`] for a missing enactor: sent with what came.
    pub fn due(&mut self, now: Timestamp) -> Vec<AlertEvent> {
        let late: Vec<(ServiceId, Epoch)> = self
            .open
            .iter()
            .filter(|(_, (first, _))| now.since(*first) >= GATHER)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for k in late {
            if let Some((_, got)) = self.open.remove(&k) {
                out.push(self.notice(&k.0, k.1, got, now));
            }
        }
        out
    }

    fn notice(
        &self,
        service: &ServiceId,
        epoch: Epoch,
        got: BTreeMap<&'static str, Report>,
        now: Timestamp,
    ) -> AlertEvent {
        let parts: Vec<String> = got
            .values()
            .map(|r| {
                let v = match &r.applied.verification {
                    Verification::NotChecked => "not verified".to_owned(),
                    Verification::Verified => "verified".to_owned(),
                    Verification::Failed(why) => format!("verification failed: {why}"),
                };
                format!("{} {} ms, {v}", r.enactor, r.applied.took.as_millis())
            })
            .collect();
        let missing: Vec<&str> = self
            .enactors
            .iter()
            .copied()
            .filter(|e| !got.contains_key(e))
            .collect();
        let mut e = AlertEvent::new(
            "enacted",
            "switch_enacted",
            Action::Notice,
            format!("enacted/{service}/{}", self.node),
            severity_of("enacted"),
            format!(
                "{service} epoch {epoch} enacted on {}: {}",
                self.node,
                parts.join("; ")
            ),
            self.node.clone(),
            now,
        )
        .service(service)
        .epoch(epoch);
        for r in got.values() {
            e = e
                .detail(
                    &format!("{}_took_ms", r.enactor),
                    format!("{:.3}", r.applied.took.as_secs_f64() * 1e3),
                )
                .detail(
                    &format!("{}_verification", r.enactor),
                    serde_json::to_string(&r.applied.verification).unwrap_or_default(),
                );
        }
        if !missing.is_empty() {
            e = e.detail("not_reported", missing.join(","));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enact::Applied;

    fn report(enactor: &'static str, epoch: u64, error: Option<&str>) -> Report {
        Report {
            enactor,
            applied: Applied {
                service: "crm".into(),
                epoch: Epoch(epoch),
                error: error.map(str::to_owned),
                took: Duration::from_millis(3),
                verification: Verification::Verified,
            },
        }
    }

    #[test]
    fn a_switch_is_one_notice_once_every_enactor_reported() {
        let mut e = Enacted::new("n1".into(), vec!["dns", "route"]);
        let first = e.report(report("dns", 2, None), Timestamp(0));
        assert!(first.iter().all(|a| a.kind == "enactment"), "{first:?}");
        let second = e.report(report("route", 2, None), Timestamp(1));
        let notice: Vec<&AlertEvent> = second.iter().filter(|a| a.kind == "enacted").collect();
        assert_eq!(notice.len(), 1);
        assert_eq!(notice[0].details["dns_took_ms"], "3.000");
        assert!(
            notice[0].summary.contains("route 3 ms, verified"),
            "{}",
            notice[0].summary
        );
    }

    #[test]
    fn a_missing_enactor_is_named_after_the_gather_time() {
        let mut e = Enacted::new("n1".into(), vec!["dns", "route"]);
        e.report(report("dns", 2, None), Timestamp(0));
        let late = e.due(Timestamp(0).add(GATHER));
        assert_eq!(late[0].details["not_reported"], "route");
    }

    #[test]
    fn failure_opens_and_success_resolves_with_the_same_key() {
        let mut e = Enacted::new("n1".into(), vec!["dns"]);
        let failed = e.report(report("dns", 2, Some("disk full")), Timestamp(0));
        let ok = e.report(report("dns", 2, None), Timestamp(1));
        assert_eq!(failed[0].key, ok[0].key);
        assert_eq!(
            (failed[0].action, ok[0].action),
            (Action::Trigger, Action::Resolve)
        );
    }
}
