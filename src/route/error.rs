//! [`RouteError`]: what can go wrong between switchback and the kernel's routing tables.

use std::net::IpAddr;

/// A failed netlink operation or a precondition the kernel refused, with what it was about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The process may not change routes or addresses.
    #[error(
        "{op} {what}: operation not permitted: switchback needs CAP_NET_ADMIN to change routes and addresses"
    )]
    NotPermitted {
        /// The operation (`replace route`, `add address`).
        op: &'static str,
        /// What it was applied to.
        what: String,
    },
    /// An interface named in the config does not exist on this node.
    #[error("unknown interface `{name}` (configured at {key})")]
    UnknownInterface {
        /// The interface name.
        name: String,
        /// The config key that names it.
        key: String,
    },
    /// The kernel has no connected route to the next hop.
    #[error(
        "next hop {next_hop} for {prefix} is unreachable: no connected route to it on this node ({detail})"
    )]
    UnreachableNextHop {
        /// The next hop.
        next_hop: IpAddr,
        /// The VIP prefix.
        prefix: String,
        /// The kernel's words.
        detail: String,
    },
    /// Another program owns a route for the VIP prefix; it is reported, not replaced.
    #[error(
        "foreign route for {prefix} in table {table} (protocol {protocol}, {via}) left alone; set [route] replace_foreign = true to take it over"
    )]
    Foreign {
        /// The prefix.
        prefix: String,
        /// Its table.
        table: u32,
        /// Its route protocol number.
        protocol: u8,
        /// Where it points.
        via: String,
    },
    /// The active site has no next hop for this VIP (the config validates against it).
    #[error("no next hop for site `{site}`")]
    NoNextHop {
        /// The active site.
        site: String,
    },
    /// Any other netlink failure.
    #[error("{op} {what}: netlink: {detail}")]
    Netlink {
        /// The operation.
        op: &'static str,
        /// What it was applied to.
        what: String,
        /// The kernel's (or the library's) words.
        detail: String,
    },
}
