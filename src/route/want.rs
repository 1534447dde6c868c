//! The routes and addresses this node must hold for the desired state (pure).

use super::RouteError;
use crate::config::{Config, Vip};
use crate::model::{Epoch, ServiceId};
use crate::policy::DesiredSet;
use ipnet::IpNet;
use std::net::IpAddr;

/// One VIP route: `prefix via gateway [dev] table metric`, marked with our protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantRoute {
    /// The service it belongs to.
    pub service: ServiceId,
    /// The epoch it enacts.
    pub epoch: Epoch,
    /// The VIP prefix.
    pub prefix: IpNet,
    /// The active site's next hop.
    pub gateway: IpAddr,
    /// Output interface name, if configured.
    pub dev: Option<String>,
    /// Routing table.
    pub table: u32,
    /// Metric (kernel priority).
    pub metric: u32,
}

/// One VIP address: held on `interface` when this node's site is active, released otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantAddr {
    /// The service it belongs to.
    pub service: ServiceId,
    /// The epoch it enacts.
    pub epoch: Epoch,
    /// Address and prefix length.
    pub address: IpNet,
    /// The interface.
    pub interface: String,
    /// The config key of the interface (for errors).
    pub key: String,
    /// Hold it (this node's site is active) or make sure it is absent.
    pub hold: bool,
}

/// Everything one apply must make true, plus services that cannot be enacted at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Routes, one per route-mode service.
    pub routes: Vec<WantRoute>,
    /// Addresses, one per address-mode service.
    pub addresses: Vec<WantAddr>,
    /// Services whose VIP cannot be enacted, and why.
    pub problems: Vec<(ServiceId, Epoch, RouteError)>,
}

impl Wanted {
    /// Whether any VIP is configured for a committed service.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.addresses.is_empty() && self.problems.is_empty()
    }
}

/// What `cfg`'s VIPs need for `desired` on this node (`cfg.node.site` decides address holding).
pub fn wanted(cfg: &Config, desired: &DesiredSet) -> Wanted {
    let mut out = Wanted::default();
    for (i, s) in cfg.services.iter().enumerate() {
        let (Some(vip), Some(d)) = (&s.vip, desired.get(&s.name)) else {
            continue;
        };
        match vip {
            Vip::Route(r) => match r.next_hop.get(&d.active_site) {
                Some(gw) => out.routes.push(WantRoute {
                    service: s.name.clone(),
                    epoch: d.epoch,
                    prefix: r.prefix,
                    gateway: *gw,
                    dev: r.dev.clone(),
                    table: r.table,
                    metric: r.metric,
                }),
                None => out.problems.push((
                    s.name.clone(),
                    d.epoch,
                    RouteError::NoNextHop {
                        site: d.active_site.to_string(),
                    },
                )),
            },
            Vip::Address(a) => out.addresses.push(WantAddr {
                service: s.name.clone(),
                epoch: d.epoch,
                address: a.address,
                interface: a.interface.clone(),
                key: format!("service[{i}].vip.interface"),
                hold: d.active_site == cfg.node.site,
            }),
        }
    }
    out
}
