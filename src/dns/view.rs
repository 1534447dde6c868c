//! What the enactor is told per service, and the pure rule turning it into answers.
//!
//! The rule follows what operators of gdnsd/F5 expect: the normal TTL while all is well, the
//! shorter `degraded_ttl` while the active site is degraded or a switch is pending, and the
//! configured `all_down` behaviour when the quorum sees no site up.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::config::{AllDown, Service};
use crate::model::{Epoch, ServiceId, SiteId};

/// The committed state of one service as the DNS enactor needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceView {
    /// Which service.
    pub service: ServiceId,
    /// The site its names point at.
    pub active_site: SiteId,
    /// The decision's epoch; a view older than the one being served is ignored.
    pub epoch: Epoch,
    /// Degraded or a switch pending: answer with `degraded_ttl` so resolvers re-ask sooner.
    pub degraded: bool,
    /// Sites the quorum sees up; empty means no site is up (`all_down` behaviour).
    pub up_sites: BTreeSet<SiteId>,
}

impl ServiceView {
    /// The view a node starts with before any decision: the primary, healthy.
    pub fn initial(service: &Service, primary: &SiteId) -> Self {
        Self {
            service: service.name.clone(),
            active_site: primary.clone(),
            epoch: Epoch(0),
            degraded: false,
            up_sites: BTreeSet::from([primary.clone()]),
        }
    }
}

/// The addresses and TTL one service's names answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// A and AAAA addresses in configured order (empty: NODATA).
    pub(crate) addresses: Vec<IpAddr>,
    /// TTL in seconds.
    pub(crate) ttl: u32,
}

/// Applies the health rules to one service's view.
pub(crate) fn answer(service: &Service, view: &ServiceView) -> Answer {
    let secs = |d: std::time::Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    let site = |s: &SiteId| service.addresses.get(s).cloned().unwrap_or_default();
    if view.up_sites.is_empty() {
        let addresses = match service.policy.all_down {
            AllDown::Keep => site(&view.active_site),
            AllDown::All => {
                let mut all: Vec<IpAddr> = Vec::new();
                for a in service.addresses.values().flatten() {
                    if !all.contains(a) {
                        all.push(*a);
                    }
                }
                all
            }
            AllDown::None => Vec::new(),
        };
        return Answer {
            addresses,
            ttl: secs(service.degraded_ttl),
        };
    }
    let ttl = if view.degraded {
        service.degraded_ttl
    } else {
        service.ttl
    };
    Answer {
        addresses: site(&view.active_site),
        ttl: secs(ttl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;
    use crate::fixture;

    pub(crate) fn service(all_down: AllDown) -> Service {
        let policy = Policy {
            all_down,
            ..fixture::policy()
        };
        let ip = |t: &str| t.parse().expect("ip");
        fixture::service("crm", ip("10.1.0.10"), ip("10.2.0.10"), policy)
    }

    fn view(active: &str, degraded: bool, up: &[&str]) -> ServiceView {
        ServiceView {
            service: "crm".into(),
            active_site: active.into(),
            epoch: Epoch(1),
            degraded,
            up_sites: up.iter().map(|s| SiteId::from(*s)).collect(),
        }
    }

    fn ips(a: &Answer) -> Vec<String> {
        a.addresses.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn healthy_uses_ttl_and_active_site() {
        let a = answer(&service(AllDown::Keep), &view("sh", false, &["sh"]));
        assert_eq!((ips(&a), a.ttl), (vec!["10.2.0.10".to_owned()], 30));
    }

    #[test]
    fn degraded_uses_degraded_ttl() {
        let a = answer(&service(AllDown::Keep), &view("bj", true, &["bj", "sh"]));
        assert_eq!((ips(&a), a.ttl), (vec!["10.1.0.10".to_owned()], 5));
    }

    #[test]
    fn all_down_behaviours() {
        let keep = answer(&service(AllDown::Keep), &view("sh", false, &[]));
        assert_eq!(ips(&keep), vec!["10.2.0.10"]);
        let all = answer(&service(AllDown::All), &view("sh", false, &[]));
        assert_eq!(ips(&all), vec!["10.1.0.10", "10.2.0.10"]);
        let none = answer(&service(AllDown::None), &view("sh", false, &[]));
        assert!(none.addresses.is_empty());
        assert_eq!(none.ttl, 5);
    }
}
