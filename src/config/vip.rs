//! Service VIPs and the node-wide `[route]` section: raw shape, typed shape and validation.
//!
//! A VIP is either a **route** an edge router points at the active site's next hop
//! (`vip = { prefix, next_hop = { site = addr }, dev?, table?, metric? }`) or an **address**
//! the active site's host holds (`vip = { address = "10.9.0.10/24", interface = "eth0" }`).
//! `[route]` says how the route enactor marks and repairs what it owns.

use super::ctx::{Ctx, duration, join};
use super::table::Count;
use super::values;
use super::{Service, Site, SiteRole};
use crate::model::SiteId;
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The route protocol number switchback marks its kernel routes with unless `[route]
/// protocol` says otherwise (unassigned in `/etc/iproute2/rt_protos`; BIRD is 12, keepalived 18).
pub const DEFAULT_PROTOCOL: u8 = 57;

/// Main routing table.
pub const MAIN_TABLE: u32 = 254;

/// A service's virtual IP: a route on an edge router or an address on a host.
#[derive(Clone, Debug, PartialEq)]
pub enum Vip {
    /// Route mode (edge routers).
    Route(VipRoute),
    /// Address mode (hosts).
    Address(VipAddress),
}

/// `vip = { prefix, next_hop, dev, table, metric }`: one kernel route via the active site.
#[derive(Clone, Debug, PartialEq)]
pub struct VipRoute {
    /// The virtual prefix, e.g. `10.9.0.10/32`.
    pub prefix: IpNet,
    /// Next hop towards each site.
    pub next_hop: BTreeMap<SiteId, IpAddr>,
    /// Output interface, if the next hop needs one.
    pub dev: Option<String>,
    /// Routing table (default main, 254).
    pub table: u32,
    /// Route metric (kernel priority); replace matches on it, so it is always sent.
    pub metric: u32,
}

/// `vip = { address, interface }`: the host of the active site holds the address.
#[derive(Clone, Debug, PartialEq)]
pub struct VipAddress {
    /// Address with its prefix length, e.g. `10.9.0.10/24`.
    pub address: IpNet,
    /// The interface that carries it.
    pub interface: String,
}

impl Vip {
    /// The prefix it covers (route mode) or its host prefix (address mode).
    pub fn prefix(&self) -> IpNet {
        match self {
            Vip::Route(r) => r.prefix,
            Vip::Address(a) => IpNet::from(a.address.addr()),
        }
    }

    /// Next hops per site (route mode only).
    pub fn next_hop(&self) -> Option<&BTreeMap<SiteId, IpAddr>> {
        match self {
            Vip::Route(r) => Some(&r.next_hop),
            Vip::Address(_) => None,
        }
    }
}

/// `[route]`: how the route enactor marks, repairs and announces what it owns.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteSection {
    /// Route protocol number on every route it installs; it only ever touches routes with it.
    pub protocol: u8,
    /// How often to re-read the kernel even without a netlink event.
    pub resync: Duration,
    /// Replace a foreign route (another protocol) for a VIP prefix instead of only reporting it.
    pub replace_foreign: bool,
    /// Gratuitous ARPs / unsolicited neighbour advertisements sent after adding an address.
    pub announce_count: u32,
    /// Spacing between them.
    pub announce_interval: Duration,
}

impl Default for RouteSection {
    fn default() -> Self {
        Self {
            protocol: DEFAULT_PROTOCOL,
            resync: Duration::from_secs(30),
            replace_foreign: false,
            announce_count: 3,
            announce_interval: Duration::from_millis(200),
        }
    }
}

/// `service.vip` as written (either mode's keys; validation says which mode it is).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawVip {
    pub(crate) prefix: Option<String>,
    pub(crate) next_hop: BTreeMap<String, String>,
    #[serde(alias = "device")]
    pub(crate) dev: Option<String>,
    pub(crate) table: Option<Count>,
    pub(crate) metric: Option<Count>,
    pub(crate) address: Option<String>,
    pub(crate) interface: Option<String>,
}

/// `[route]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRoute {
    pub(crate) protocol: Count,
    pub(crate) resync: String,
    pub(crate) replace_foreign: bool,
    pub(crate) announce_count: Count,
    pub(crate) announce_interval: String,
}

impl Default for RawRoute {
    fn default() -> Self {
        Self {
            protocol: Count(usize::from(DEFAULT_PROTOCOL)),
            resync: "30s".into(),
            replace_foreign: false,
            announce_count: Count(3),
            announce_interval: "200ms".into(),
        }
    }
}

/// `[route]`.
pub(crate) fn route(raw: RawRoute, ctx: &mut Ctx<'_>) -> RouteSection {
    let protocol = match u8::try_from(raw.protocol.0) {
        Ok(p) if p > 4 => p,
        _ => {
            ctx.bad(
                "route.protocol",
                format!(
                    "{} is not a free route protocol number: use 5..=255 (0-4 belong to the kernel and static routes; default {DEFAULT_PROTOCOL})",
                    raw.protocol.0
                ),
            );
            DEFAULT_PROTOCOL
        }
    };
    let resync = duration(ctx, "route.resync", &raw.resync);
    if values::duration(&raw.resync).is_ok() && resync.is_zero() {
        ctx.bad("route.resync", "must be above zero");
    }
    let announce_count = u32::try_from(raw.announce_count.0).unwrap_or_else(|_| {
        ctx.bad("route.announce_count", "too large");
        0
    });
    RouteSection {
        protocol,
        resync,
        replace_foreign: raw.replace_foreign,
        announce_count,
        announce_interval: duration(ctx, "route.announce_interval", &raw.announce_interval),
    }
}

/// One `service[i].vip` at `key`; `serving` are the sites the service has addresses at.
pub(crate) fn vip(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &RawVip,
    sites: &BTreeMap<SiteId, Site>,
    serving: &BTreeMap<SiteId, Vec<IpAddr>>,
) -> Vip {
    let route_keys = raw.prefix.is_some() || !raw.next_hop.is_empty();
    let addr_keys = raw.address.is_some() || raw.interface.is_some();
    if route_keys && addr_keys {
        ctx.conflict(
            key,
            "give either route mode (prefix, next_hop) or address mode (address, interface), not both",
        );
    }
    if addr_keys && !route_keys {
        for k in ["dev", "table", "metric"] {
            let set = match k {
                "dev" => raw.dev.is_some(),
                "table" => raw.table.is_some(),
                _ => raw.metric.is_some(),
            };
            if set {
                ctx.conflict(
                    &format!("{key}.{k}"),
                    "only route mode (prefix, next_hop) takes it",
                );
            }
        }
        return Vip::Address(address(ctx, key, raw));
    }
    Vip::Route(route_vip(ctx, key, raw, sites, serving))
}

fn address(ctx: &mut Ctx<'_>, key: &str, raw: &RawVip) -> VipAddress {
    let address = match &raw.address {
        None => {
            ctx.missing(&format!("{key}.address"));
            None
        }
        Some(a) => ctx.parse(&format!("{key}.address"), values::net(a)),
    };
    let interface = match raw.interface.as_deref().map(str::trim) {
        None => {
            ctx.missing(&format!("{key}.interface"));
            String::new()
        }
        Some("") => {
            ctx.bad(&format!("{key}.interface"), "empty");
            String::new()
        }
        Some(i) if i.len() > 15 || i.contains('/') || i.contains(char::is_whitespace) => {
            ctx.bad(
                &format!("{key}.interface"),
                format!("{i:?} is not an interface name (at most 15 characters, no '/' or spaces)"),
            );
            i.to_owned()
        }
        Some(i) => i.to_owned(),
    };
    VipAddress {
        address: address.unwrap_or_else(|| IpNet::from(IpAddr::from([0, 0, 0, 0]))),
        interface,
    }
}

fn route_vip(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &RawVip,
    sites: &BTreeMap<SiteId, Site>,
    serving: &BTreeMap<SiteId, Vec<IpAddr>>,
) -> VipRoute {
    let prefix = match &raw.prefix {
        None => {
            ctx.missing(&format!("{key}.prefix"));
            None
        }
        Some(p) => ctx.parse(&format!("{key}.prefix"), values::net(p)),
    };
    if let Some(p) = prefix
        && p.trunc() != p
    {
        ctx.bad(
            &format!("{key}.prefix"),
            format!("{p} has host bits set; write {}", p.trunc()),
        );
    }
    let mut next_hop = BTreeMap::new();
    for (site, nh) in &raw.next_hop {
        let nkey = format!("{key}.next_hop.{site}");
        match sites.get(&SiteId(site.clone())) {
            None if !sites.is_empty() => ctx.conflict(
                &nkey,
                format!(
                    "unknown site `{site}`; [sites] defines: {}",
                    join(sites.keys())
                ),
            ),
            Some(s) if s.role == SiteRole::Arbiter => ctx.conflict(
                &nkey,
                format!("site `{site}` is an arbiter and never serves"),
            ),
            _ => {}
        }
        let Some(ip) = ctx.parse(&nkey, values::ip(nh)) else {
            continue;
        };
        if let Some(p) = prefix
            && p.addr().is_ipv4() != ip.is_ipv4()
        {
            ctx.conflict(
                &nkey,
                format!("next hop {ip} and prefix {p} are different address families"),
            );
        }
        next_hop.insert(SiteId(site.clone()), ip);
    }
    for site in serving.keys() {
        if !raw.next_hop.contains_key(site.as_str()) {
            ctx.conflict(
                &format!("{key}.next_hop"),
                format!("no next hop for serving site `{site}`"),
            );
        }
    }
    if raw.dev.as_deref().is_some_and(|d| d.trim().is_empty()) {
        ctx.bad(&format!("{key}.dev"), "empty");
    }
    let table = match raw.table.map(|c| u32::try_from(c.0)) {
        None => MAIN_TABLE,
        Some(Ok(t)) if t > 0 && t != 255 => t,
        Some(_) => {
            ctx.bad(
                &format!("{key}.table"),
                "use a table id of 1..=4294967295 other than 255 (local)",
            );
            MAIN_TABLE
        }
    };
    let v6 = prefix.is_some_and(|p| p.addr().is_ipv6());
    let metric = match raw.metric.map(|c| u32::try_from(c.0)) {
        // The kernel stores a v6 route without a metric as 1024; say so, so replace matches.
        None => {
            if v6 {
                1024
            } else {
                0
            }
        }
        Some(Ok(m)) => m,
        Some(Err(_)) => {
            ctx.bad(&format!("{key}.metric"), "above 4294967295");
            0
        }
    };
    VipRoute {
        prefix: prefix.unwrap_or_default(),
        next_hop,
        dev: raw.dev.as_ref().map(|d| d.trim().to_owned()),
        table,
        metric,
    }
}

/// VIPs of different services must not overlap: two routes for nested prefixes in one table,
/// or one address held for two services, would make one service's switch move the other.
pub(crate) fn overlaps(ctx: &mut Ctx<'_>, services: &[Service]) {
    let mut seen: Vec<(usize, &Vip)> = Vec::new();
    for (i, s) in services.iter().enumerate() {
        let Some(v) = &s.vip else { continue };
        for (j, other) in &seen {
            let clash = match (v, other) {
                (Vip::Route(a), Vip::Route(b)) => {
                    a.table == b.table
                        && (a.prefix.contains(&b.prefix) || b.prefix.contains(&a.prefix))
                }
                (Vip::Address(a), Vip::Address(b)) => a.address.addr() == b.address.addr(),
                _ => false,
            };
            if clash {
                ctx.conflict(
                    &format!("service[{i}].vip"),
                    format!(
                        "{} overlaps {} of service[{j}] ({})",
                        v.prefix(),
                        other.prefix(),
                        services[*j].name
                    ),
                );
            }
        }
        seen.push((i, v));
    }
}
