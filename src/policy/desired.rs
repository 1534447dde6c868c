//! [`Desired`]: what every enactor makes true for a service, derived from committed state only.
//!
//! The leader commits, beside each decision, the [`ServingHealth`] its answers depend on
//! ([`serving_health`] of the engine's status). Every authority, leader or follower, then
//! derives the same [`Desired`] from what is committed ([`desired`]): the active site, whether
//! it is degraded, the sites still up, and the TTL to answer with. Nothing here reads the
//! engine's live, uncommitted view.

use super::status::ServiceStatus;
use crate::config::{Config, Service, Site};
use crate::model::{Epoch, Health, ServiceId, ServiceRecord, ServingHealth, SiteId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What enactors follow for one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// The service.
    pub service: ServiceId,
    /// Where its names and VIP point.
    pub active_site: SiteId,
    /// The committed epoch; an enactor never goes back to an older one.
    pub epoch: Epoch,
    /// Degraded or a switch pending (answers use `degraded_ttl`).
    pub degraded: bool,
    /// Serving sites not seen down, with the active one; empty when every serving site is
    /// down by quorum (answers follow `all_down`).
    pub up_sites: BTreeSet<SiteId>,
    /// The TTL to answer with.
    pub ttl: Duration,
}

/// Every configured service's [`Desired`] that has a committed record.
pub type DesiredSet = BTreeMap<ServiceId, Desired>;

impl Desired {
    /// Derive one service's desired state from its committed record.
    pub fn of(
        service: &Service,
        sites: &BTreeMap<SiteId, Site>,
        record: &ServiceRecord,
    ) -> Desired {
        let d = &record.committed.decision;
        let down = &record.health.down;
        let serving = service.serving_sites(sites);
        let all_down = !serving.is_empty() && serving.iter().all(|s| down.contains(s));
        let up_sites: BTreeSet<SiteId> = if all_down {
            BTreeSet::new()
        } else {
            serving
                .into_iter()
                .filter(|s| !down.contains(s))
                .chain(std::iter::once(d.active_site.clone()))
                .collect()
        };
        let degraded = record.health.degraded;
        let ttl = if degraded || up_sites.is_empty() {
            service.degraded_ttl
        } else {
            service.ttl
        };
        Desired {
            service: service.name.clone(),
            active_site: d.active_site.clone(),
            epoch: d.epoch,
            degraded,
            up_sites,
            ttl,
        }
    }

    /// What a service answers before anything is committed: the primary, healthy, epoch 0.
    pub fn initial(service: &Service, primary: &SiteId) -> Desired {
        Desired {
            service: service.name.clone(),
            active_site: primary.clone(),
            epoch: Epoch(0),
            degraded: false,
            up_sites: BTreeSet::from([primary.clone()]),
            ttl: service.ttl,
        }
    }
}

/// The desired state of every configured service with a committed record (config order does
/// not matter: keyed by service).
pub fn desired(cfg: &Config, records: &BTreeMap<ServiceId, ServiceRecord>) -> DesiredSet {
    cfg.services
        .iter()
        .filter_map(|s| {
            let r = records.get(&s.name)?;
            Some((s.name.clone(), Desired::of(s, &cfg.sites, r)))
        })
        .collect()
}

/// What the leader commits about a service's sites, from the engine's status of it.
pub fn serving_health(status: &ServiceStatus) -> ServingHealth {
    ServingHealth {
        degraded: status.degraded,
        down: status
            .sites
            .iter()
            .filter(|(_, s)| s.verdict == Health::Down)
            .map(|(id, _)| id.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AllDown;
    use crate::fixture;
    use crate::model::{Committed, Decision, DecisionKind, Timestamp};

    fn cfg() -> Config {
        let p = crate::config::Policy {
            all_down: AllDown::Keep,
            damping: crate::config::presets::standard().policy.damping,
            ..fixture::policy()
        };
        fixture::config(&["crm"], fixture::voters(3, 2), p)
    }

    fn record(active: &str, degraded: bool, down: &[&str]) -> ServiceRecord {
        ServiceRecord {
            committed: Committed {
                decision: Decision {
                    service: "crm".into(),
                    active_site: active.into(),
                    epoch: Epoch(4),
                    kind: DecisionKind::Failover,
                    reason: "test".into(),
                    at: Timestamp(1),
                },
                operator: Default::default(),
                damping: Default::default(),
                pending: None,
            },
            health: ServingHealth {
                degraded,
                down: down.iter().map(|s| SiteId::from(*s)).collect(),
            },
        }
    }

    fn of(r: &ServiceRecord) -> Desired {
        let c = cfg();
        desired(&c, &BTreeMap::from([("crm".into(), r.clone())]))[&"crm".into()].clone()
    }

    fn sites(d: &Desired) -> Vec<&str> {
        d.up_sites.iter().map(SiteId::as_str).collect()
    }

    #[test]
    fn healthy_answers_with_ttl() {
        let d = of(&record("sh", false, &[]));
        assert_eq!((d.active_site.as_str(), d.epoch), ("sh", Epoch(4)));
        assert_eq!(
            (sites(&d), d.ttl),
            (vec!["bj", "sh"], Duration::from_secs(30))
        );
    }

    #[test]
    fn degraded_or_all_down_answers_with_degraded_ttl() {
        let d = of(&record("sh", true, &["bj"]));
        assert_eq!((sites(&d), d.ttl), (vec!["sh"], Duration::from_secs(5)));
        let d = of(&record("sh", false, &["bj", "sh"]));
        assert!(d.up_sites.is_empty());
        assert_eq!(d.ttl, Duration::from_secs(5));
    }

    #[test]
    fn the_active_site_counts_as_up_unless_all_are_down() {
        let d = of(&record("bj", true, &["bj"]));
        assert_eq!(sites(&d), vec!["bj", "sh"]);
    }

    #[test]
    fn services_without_a_record_have_no_desired_state() {
        assert!(desired(&cfg(), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn old_records_without_health_read_as_healthy() {
        let json = r#"{"decision":{"service":"crm","active_site":"bj","epoch":1,
            "kind":"initial","reason":"x","at":1},"operator":{}}"#;
        let r: ServiceRecord = serde_json::from_str(json).unwrap();
        assert_eq!(r.health, ServingHealth::default());
        assert_eq!(of(&r).ttl, Duration::from_secs(30));
    }
}
