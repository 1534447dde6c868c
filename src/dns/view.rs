//! The pure rule turning a service's [`Desired`] state into the addresses its names answer.
//!
//! The TTL comes with the desired state (the normal TTL while all is well, `degraded_ttl`
//! while degraded, pending or all down: see `policy::desired`); the addresses are the active
//! site's, or the configured `all_down` behaviour when the quorum sees no site up.

use std::net::IpAddr;

use crate::config::{AllDown, Service};
use crate::policy::Desired;

/// The addresses and TTL one service's names answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// A and AAAA addresses in configured order (empty: NODATA).
    pub(crate) addresses: Vec<IpAddr>,
    /// TTL in seconds.
    pub(crate) ttl: u32,
}

/// Applies the health rules to one service's desired state.
pub(crate) fn answer(service: &Service, view: &Desired) -> Answer {
    let ttl = u32::try_from(view.ttl.as_secs()).unwrap_or(u32::MAX);
    let site = |s| service.addresses.get(s).cloned().unwrap_or_default();
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
        return Answer { addresses, ttl };
    }
    Answer {
        addresses: site(&view.active_site),
        ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;
    use crate::fixture;
    use crate::model::{Epoch, SiteId};
    use std::time::Duration;

    pub(crate) fn service(all_down: AllDown) -> Service {
        let policy = Policy {
            all_down,
            damping: crate::config::presets::standard().policy.damping,
            ..fixture::policy()
        };
        let ip = |t: &str| t.parse().expect("ip");
        fixture::service("crm", ip("10.1.0.10"), ip("10.2.0.10"), policy)
    }

    /// A desired state with the TTL `policy::desired` gives the fixture service (30 s, 5 s).
    fn view(active: &str, degraded: bool, up: &[&str]) -> Desired {
        let ttl = if degraded || up.is_empty() { 5 } else { 30 };
        Desired {
            service: "crm".into(),
            active_site: active.into(),
            epoch: Epoch(1),
            degraded,
            up_sites: up.iter().map(|s| SiteId::from(*s)).collect(),
            ttl: Duration::from_secs(ttl),
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
