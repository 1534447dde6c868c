//! Wanted vs kernel → actions (pure). Only routes with our protocol number are ours; a
//! foreign route for a VIP prefix is reported and left alone unless `replace_foreign`.

use super::want::{WantAddr, WantRoute};
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// A route as the kernel dumped it (the fields replace and delete match on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination prefix.
    pub prefix: IpNet,
    /// Table id.
    pub table: u32,
    /// Metric (priority).
    pub metric: u32,
    /// Route protocol number.
    pub protocol: u8,
    /// Gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface index, if any.
    pub oif: Option<u32>,
}

impl KernelRoute {
    /// `via 192.0.2.1 dev #3`-style text for messages.
    pub fn via(&self) -> String {
        match (self.gateway, self.oif) {
            (Some(g), Some(o)) => format!("via {g} oif {o}"),
            (Some(g), None) => format!("via {g}"),
            (None, Some(o)) => format!("oif {o}"),
            (None, None) => "no next hop".into(),
        }
    }
}

/// An address as the kernel dumped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelAddr {
    /// Address and prefix length.
    pub address: IpNet,
    /// Interface index.
    pub index: u32,
}

/// One change to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Install or atomically replace our route (`was`: our differing route, if any).
    Replace {
        /// The route to hold.
        want: WantRoute,
        /// Output interface index resolved from `want.dev`.
        oif: Option<u32>,
        /// Our route it replaces (another next hop), if any.
        was: Option<KernelRoute>,
    },
    /// Delete a route: ours that nothing wants, or a foreign one when taking over.
    Delete(KernelRoute),
    /// Add a VIP address.
    AddAddress {
        /// The address.
        want: WantAddr,
        /// Interface index.
        index: u32,
    },
    /// Remove a VIP address this node must not hold.
    DelAddress {
        /// The address.
        want: WantAddr,
        /// Interface index.
        index: u32,
    },
}

/// The actions for one apply, and the foreign routes found in the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changes, in order.
    pub actions: Vec<Action>,
    /// Wanted routes blocked by a foreign route (with it).
    pub foreign: Vec<(WantRoute, KernelRoute)>,
}

/// Routes: `want` (with resolved output interfaces) against the kernel's `have`. Linear in
/// both (indexed by prefix and table), so a 10,000-VIP resync stays cheap. Our routes for
/// `keep` (VIPs that could not be resolved this time) are left as they are.
pub fn routes(
    want: &[(WantRoute, Option<u32>)],
    keep: &[WantRoute],
    have: &[KernelRoute],
    protocol: u8,
    replace_foreign: bool,
) -> Plan {
    let mut at: HashMap<(IpNet, u32), Vec<&KernelRoute>> = HashMap::new();
    for k in have {
        at.entry((k.prefix, k.table)).or_default().push(k);
    }
    let mut plan = Plan::default();
    for (w, oif) in want {
        let here = at.get(&(w.prefix, w.table)).map_or(&[][..], Vec::as_slice);
        let foreign: Vec<&KernelRoute> = here
            .iter()
            .copied()
            .filter(|k| k.protocol != protocol)
            .collect();
        if let Some(f) = foreign.first()
            && !replace_foreign
        {
            plan.foreign.push((w.clone(), (*f).clone()));
            continue;
        }
        let ours = here
            .iter()
            .find(|k| k.protocol == protocol && k.metric == w.metric);
        let in_sync =
            ours.is_some_and(|k| k.gateway == Some(w.gateway) && (oif.is_none() || k.oif == *oif));
        // Taking over: a foreign route with our metric is replaced in place; others go.
        for f in foreign.iter().filter(|f| f.metric != w.metric) {
            plan.actions.push(Action::Delete((*f).clone()));
        }
        let foreign_same_metric = foreign.iter().any(|f| f.metric == w.metric);
        if !in_sync || foreign_same_metric {
            plan.actions.push(Action::Replace {
                want: w.clone(),
                oif: *oif,
                was: ours.map(|k| (*k).clone()),
            });
        }
    }
    // Ours that no wanted route accounts for (VIP removed, metric or table changed).
    let wanted: HashSet<(IpNet, u32, u32)> = want
        .iter()
        .map(|(w, _)| w)
        .chain(keep)
        .map(|w| (w.prefix, w.table, w.metric))
        .collect();
    for k in have.iter().filter(|k| k.protocol == protocol) {
        if !wanted.contains(&(k.prefix, k.table, k.metric)) {
            plan.actions.push(Action::Delete(k.clone()));
        }
    }
    plan
}

/// Addresses: each wanted address (with its interface index) against the kernel's `have`.
pub fn addresses(want: &[(WantAddr, u32)], have: &[KernelAddr]) -> Vec<Action> {
    let mut out = Vec::new();
    for (w, index) in want {
        let present = have
            .iter()
            .any(|k| k.index == *index && k.address.addr() == w.address.addr());
        if w.hold && !present {
            out.push(Action::AddAddress {
                want: w.clone(),
                index: *index,
            });
        } else if !w.hold && present {
            out.push(Action::DelAddress {
                want: w.clone(),
                index: *index,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Epoch;

    const P: u8 = 57;

    fn want(gw: &str) -> WantRoute {
        WantRoute {
            service: "crm".into(),
            epoch: Epoch(2),
            prefix: "10.9.0.10/32".parse().unwrap(),
            gateway: gw.parse().unwrap(),
            dev: None,
            table: 254,
            metric: 0,
        }
    }

    fn kernel(gw: &str, protocol: u8, metric: u32) -> KernelRoute {
        KernelRoute {
            prefix: "10.9.0.10/32".parse().unwrap(),
            table: 254,
            metric,
            protocol,
            gateway: Some(gw.parse().unwrap()),
            oif: Some(3),
        }
    }

    #[test]
    fn missing_route_is_installed() {
        let plan = routes(&[(want("192.0.2.1"), None)], &[], &[], P, false);
        assert!(matches!(
            &plan.actions[..],
            [Action::Replace { was: None, .. }]
        ));
    }

    #[test]
    fn matching_route_needs_nothing() {
        let plan = routes(
            &[(want("192.0.2.1"), None)],
            &[],
            &[kernel("192.0.2.1", P, 0)],
            P,
            false,
        );
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn other_next_hop_is_one_replace_never_a_delete() {
        let have = [kernel("192.0.2.1", P, 0)];
        let plan = routes(&[(want("192.0.2.2"), None)], &[], &have, P, false);
        assert_eq!(
            plan.actions,
            [Action::Replace {
                want: want("192.0.2.2"),
                oif: None,
                was: Some(have[0].clone())
            }]
        );
    }

    #[test]
    fn foreign_route_is_reported_not_touched() {
        let have = [kernel("192.0.2.9", 4, 0)];
        let plan = routes(&[(want("192.0.2.2"), None)], &[], &have, P, false);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.foreign, [(want("192.0.2.2"), have[0].clone())]);
    }

    #[test]
    fn foreign_route_is_taken_over_when_configured() {
        let have = [kernel("192.0.2.9", 4, 0), kernel("192.0.2.8", 4, 100)];
        let plan = routes(&[(want("192.0.2.2"), None)], &[], &have, P, true);
        assert_eq!(plan.actions.len(), 2, "{plan:?}");
        assert_eq!(plan.actions[0], Action::Delete(have[1].clone()));
        assert!(matches!(plan.actions[1], Action::Replace { .. }));
    }

    #[test]
    fn our_unwanted_routes_are_deleted_foreign_ones_never() {
        let mut stale = kernel("192.0.2.1", P, 0);
        stale.prefix = "10.9.0.99/32".parse().unwrap();
        let mut other = kernel("192.0.2.1", 4, 0);
        other.prefix = "10.9.0.98/32".parse().unwrap();
        let plan = routes(&[], &[], &[stale.clone(), other], P, false);
        assert_eq!(plan.actions, [Action::Delete(stale)]);
    }

    #[test]
    fn unresolved_vips_keep_their_route() {
        let have = [kernel("192.0.2.1", P, 0)];
        let plan = routes(&[], &[want("192.0.2.1")], &have, P, false);
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn addresses_are_added_when_held_and_removed_when_not() {
        let w = |hold| WantAddr {
            service: "crm".into(),
            epoch: Epoch(1),
            address: "10.9.0.10/24".parse().unwrap(),
            interface: "eth0".into(),
            key: "service[0].vip.interface".into(),
            hold,
        };
        let have = [KernelAddr {
            address: "10.9.0.10/24".parse().unwrap(),
            index: 2,
        }];
        assert!(addresses(&[(w(true), 2)], &have).is_empty());
        assert!(matches!(
            addresses(&[(w(false), 2)], &have)[..],
            [Action::DelAddress { .. }]
        ));
        assert!(matches!(
            addresses(&[(w(true), 2)], &[])[..],
            [Action::AddAddress { .. }]
        ));
        assert!(addresses(&[(w(false), 2)], &[]).is_empty());
    }
}
