//! The kernel side: one rtnetlink connection for dumps, atomic replaces, deletes, address
//! changes and route lookups; every request is counted.

use super::RouteError;
use super::diff::{KernelAddr, KernelRoute};
use super::want::{WantAddr, WantRoute};
use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteVia,
};
use rtnetlink::{Handle, RouteMessageBuilder};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Route and address operations on this node's kernel.
#[derive(Clone, Debug)]
pub struct Kernel {
    handle: Handle,
    requests: Arc<AtomicU64>,
}

/// Maps a library error to a [`RouteError`] naming the operation and its object.
fn error(op: &'static str, what: impl Into<String>, e: rtnetlink::Error) -> RouteError {
    let what = what.into();
    if let rtnetlink::Error::NetlinkError(m) = &e {
        match -m.raw_code() {
            libc::EPERM | libc::EACCES => return RouteError::NotPermitted { op, what },
            _ => {}
        }
    }
    RouteError::Netlink {
        op,
        what,
        detail: e.to_string(),
    }
}

fn errno(e: &rtnetlink::Error) -> i32 {
    match e {
        rtnetlink::Error::NetlinkError(m) => -m.raw_code(),
        _ => 0,
    }
}

impl Kernel {
    /// Opens a connection; its task runs on the current runtime until the handle is dropped.
    /// Every request it sends is counted in `requests`.
    pub fn connect(requests: Arc<AtomicU64>) -> Result<Self, RouteError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| RouteError::Netlink {
            op: "open",
            what: "rtnetlink socket".into(),
            detail: e.to_string(),
        })?;
        tokio::spawn(conn);
        Ok(Self { handle, requests })
    }

    /// Netlink requests sent so far (dumps, changes, lookups).
    pub fn requests(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.requests)
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The index of interface `name`; `key` is the config key that names it.
    pub async fn link_index(&self, name: &str, key: &str) -> Result<u32, RouteError> {
        self.count();
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(Some(l)) => Ok(l.header.index),
            Ok(None) => Err(RouteError::UnknownInterface {
                name: name.into(),
                key: key.into(),
            }),
            Err(e) if errno(&e) == libc::ENODEV => Err(RouteError::UnknownInterface {
                name: name.into(),
                key: key.into(),
            }),
            Err(e) => Err(error("look up interface", name, e)),
        }
    }

    /// The hardware address of interface `index` (for announcements).
    pub async fn link_mac(&self, index: u32) -> Result<[u8; 6], RouteError> {
        self.count();
        let mut links = self.handle.link().get().match_index(index).execute();
        let l = links
            .try_next()
            .await
            .map_err(|e| error("look up interface", format!("#{index}"), e))?;
        l.and_then(|l| {
            l.attributes.into_iter().find_map(|a| match a {
                LinkAttribute::Address(b) => <[u8; 6]>::try_from(b.as_slice()).ok(),
                _ => None,
            })
        })
        .ok_or_else(|| RouteError::Netlink {
            op: "read hardware address",
            what: format!("interface #{index}"),
            detail: "no 6-byte link-layer address".into(),
        })
    }

    /// Every IPv4 and IPv6 route in every table but `local`.
    pub async fn routes(&self) -> Result<Vec<KernelRoute>, RouteError> {
        let mut out = Vec::new();
        for msg in [
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        ] {
            self.count();
            let mut dump = self.handle.route().get(msg).execute();
            while let Some(m) = dump
                .try_next()
                .await
                .map_err(|e| error("dump", "routes", e))?
            {
                if let Some(r) = parse_route(&m)
                    && r.table != 255
                {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Install `want` or atomically replace the route with its (table, prefix, metric).
    pub async fn replace(
        &self,
        want: &WantRoute,
        oif: Option<u32>,
        protocol: u8,
    ) -> Result<(), RouteError> {
        let what = format!("{} via {}", want.prefix, want.gateway);
        let mut b = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(want.prefix.addr(), want.prefix.prefix_len())
            .and_then(|b| b.gateway(want.gateway))
            .map_err(|e| RouteError::Netlink {
                op: "build route",
                what: what.clone(),
                detail: e.to_string(),
            })?
            .table_id(want.table)
            .priority(want.metric)
            .protocol(RouteProtocol::from(protocol));
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        self.count();
        self.handle
            .route()
            .add(b.build())
            .replace()
            .execute()
            .await
            .map_err(|e| match errno(&e) {
                libc::ENETUNREACH | libc::EHOSTUNREACH => RouteError::UnreachableNextHop {
                    next_hop: want.gateway,
                    prefix: want.prefix.to_string(),
                    detail: e.to_string(),
                },
                libc::EINVAL if e.to_string().contains("gateway") => {
                    RouteError::UnreachableNextHop {
                        next_hop: want.gateway,
                        prefix: want.prefix.to_string(),
                        detail: e.to_string(),
                    }
                }
                _ => error("replace route", what, e),
            })
    }

    /// Delete exactly this route (matched on prefix, table, metric, protocol).
    pub async fn delete(&self, r: &KernelRoute) -> Result<(), RouteError> {
        let what = format!("{} {} table {}", r.prefix, r.via(), r.table);
        let msg = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(r.prefix.addr(), r.prefix.prefix_len())
            .map_err(|e| RouteError::Netlink {
                op: "build route",
                what: what.clone(),
                detail: e.to_string(),
            })?
            .table_id(r.table)
            .priority(r.metric)
            .protocol(RouteProtocol::from(r.protocol))
            .build();
        self.count();
        match self.handle.route().del(msg).execute().await {
            // Already gone is what we wanted.
            Err(e) if errno(&e) == libc::ESRCH => Ok(()),
            r => r.map_err(|e| error("delete route", what, e)),
        }
    }

    /// Every address on every interface.
    pub async fn addresses(&self) -> Result<Vec<KernelAddr>, RouteError> {
        self.count();
        let mut dump = self.handle.address().get().execute();
        let mut out = Vec::new();
        while let Some(m) = dump
            .try_next()
            .await
            .map_err(|e| error("dump", "addresses", e))?
        {
            if let Some(a) = parse_addr(&m) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Add the VIP address (IPv6 without duplicate address detection, so it works at once).
    pub async fn add_address(&self, want: &WantAddr, index: u32) -> Result<(), RouteError> {
        let what = format!("{} on {}", want.address, want.interface);
        let mut req =
            self.handle
                .address()
                .add(index, want.address.addr(), want.address.prefix_len());
        if want.address.addr().is_ipv6() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.count();
        match req.execute().await {
            Err(e) if errno(&e) == libc::EEXIST => Ok(()),
            r => r.map_err(|e| error("add address", what, e)),
        }
    }

    /// Remove the VIP address.
    pub async fn del_address(&self, want: &WantAddr, index: u32) -> Result<(), RouteError> {
        let what = format!("{} on {}", want.address, want.interface);
        let mut msg = AddressMessage::default();
        msg.header.family = if want.address.addr().is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = want.address.prefix_len();
        msg.header.index = index;
        msg.attributes
            .push(AddressAttribute::Local(want.address.addr()));
        if want.address.addr().is_ipv6() {
            msg.attributes
                .push(AddressAttribute::Address(want.address.addr()));
        }
        self.count();
        match self.handle.address().del(msg).execute().await {
            Err(e) if errno(&e) == libc::EADDRNOTAVAIL => Ok(()),
            r => r.map_err(|e| error("delete address", what, e)),
        }
    }

    /// The kernel's forwarding decision for `dst` (RTM_GETROUTE without dump): gateway and oif.
    pub async fn lookup(&self, dst: IpAddr) -> Result<Option<KernelRoute>, RouteError> {
        let msg = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(dst, if dst.is_ipv4() { 32 } else { 128 })
            .map_err(|e| RouteError::Netlink {
                op: "build lookup",
                what: dst.to_string(),
                detail: e.to_string(),
            })?
            .build();
        self.count();
        let mut answer = self.handle.route().get(msg).execute();
        let m = answer
            .try_next()
            .await
            .map_err(|e| error("look up route to", dst.to_string(), e))?;
        Ok(m.as_ref().and_then(parse_route))
    }
}

fn ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The fields we match on, from a dumped route.
pub fn parse_route(m: &RouteMessage) -> Option<KernelRoute> {
    let mut dst = None;
    let mut gateway = None;
    let mut oif = None;
    let mut metric = 0;
    let mut table = u32::from(m.header.table);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = ip(d),
            RouteAttribute::Gateway(g) => gateway = ip(g),
            RouteAttribute::Via(RouteVia::Inet(v4)) => gateway = Some(IpAddr::V4(*v4)),
            RouteAttribute::Via(RouteVia::Inet6(v6)) => gateway = Some(IpAddr::V6(*v6)),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    let dst = match (dst, m.header.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::from([0u8; 4]),
        (None, AddressFamily::Inet6) => IpAddr::from([0u8; 16]),
        _ => return None,
    };
    Some(KernelRoute {
        prefix: IpNet::new(dst, m.header.destination_prefix_length).ok()?,
        table,
        metric,
        protocol: u8::from(m.header.protocol),
        gateway,
        oif,
    })
}

fn parse_addr(m: &AddressMessage) -> Option<KernelAddr> {
    let addr = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let addr = addr.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    Some(KernelAddr {
        address: IpNet::new(addr, m.header.prefix_len).ok()?,
        index: m.header.index,
    })
}
