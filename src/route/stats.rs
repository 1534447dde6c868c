//! Route enactor counters, exposed at `/metrics` through [`crate::metrics::Exposition`].

use crate::metrics::{Exposition, family};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the route enactor counts.
#[derive(Debug, Default)]
pub struct RouteStats {
    /// Routes or addresses put back after someone else removed or changed them.
    pub restores: AtomicU64,
    /// Foreign routes found in a VIP's way.
    pub foreign: AtomicU64,
    /// Failed netlink operations.
    pub errors: AtomicU64,
    /// Gratuitous ARPs / neighbour advertisements sent.
    pub announcements: AtomicU64,
    /// Netlink requests (shared with the kernel connection).
    pub requests: Arc<AtomicU64>,
}

impl Exposition for RouteStats {
    fn render(&self, out: &mut String) {
        let rows = [
            (
                "switchback_route_restores_total",
                "VIP routes/addresses restored after outside removal or change",
                &self.restores,
            ),
            (
                "switchback_route_foreign_total",
                "Foreign routes found in a VIP's way (left alone)",
                &self.foreign,
            ),
            (
                "switchback_route_errors_total",
                "Failed route/address operations",
                &self.errors,
            ),
            (
                "switchback_route_announcements_total",
                "Gratuitous ARPs and unsolicited neighbour advertisements sent",
                &self.announcements,
            ),
            (
                "switchback_route_netlink_requests_total",
                "Netlink requests sent by the route enactor",
                &*self.requests,
            ),
        ];
        for (name, help, v) in rows {
            family(out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
    }
}
