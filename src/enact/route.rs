//! The route enactor: VIP routes (edge routers) and VIP addresses (hosts) follow the desired
//! state, through the `route` stages (want → diff → kernel → announce → verify).
//!
//! It re-reads the kernel on every netlink route/address/link event and every `[route]
//! resync`, so a route someone deletes or changes comes back (a `route restored` warning and
//! `switchback_route_restores_total` each time). On start it adopts our routes that already
//! match and corrects the rest; on shutdown it leaves everything in place, so traffic does not
//! drop because the daemon restarted. A failure (no CAP_NET_ADMIN, unknown interface,
//! unreachable next hop, foreign route) is reported per service and retried; it never stops
//! the node, so DNS keeps working.

use super::{Applied, Reconciler, Verification};
use crate::config::{Config, Vip};
use crate::model::{Epoch, ServiceId};
use crate::policy::DesiredSet;
use crate::route::diff::{self, Action};
use crate::route::kernel::Kernel;
use crate::route::stats::RouteStats;
use crate::route::want::{self, WantAddr, WantRoute};
use crate::route::{RouteError, announce, events, verify};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What was done to one service in one apply.
#[derive(Debug)]
struct Outcome {
    epoch: Epoch,
    error: Option<RouteError>,
    took: Duration,
    check: Option<Check>,
}

/// What to verify afterwards.
#[derive(Debug, Clone)]
enum Check {
    Route(WantRoute),
    Address(WantAddr, u32),
}

/// Applies VIP routes and addresses to this node's kernel.
pub struct RouteEnactor {
    cfg: Arc<Config>,
    kernel: Kernel,
    stats: Arc<RouteStats>,
    wake: Arc<Notify>,
    /// Per service, the target last enacted successfully (to tell a restore from a switch).
    enacted: BTreeMap<ServiceId, String>,
    /// Per service, the error last reported (so a standing failure is not re-reported).
    failing: BTreeMap<ServiceId, String>,
    first: bool,
}

impl RouteEnactor {
    /// Connects to the kernel and subscribes to its route/address events until `shutdown`.
    pub fn start(cfg: Arc<Config>, shutdown: CancellationToken) -> Result<Self, RouteError> {
        let stats = Arc::new(RouteStats::default());
        let kernel = Kernel::connect(Arc::clone(&stats.requests))?;
        let wake = Arc::new(Notify::new());
        let mut interest = events::Interest {
            protocol: cfg.route.protocol,
            ..Default::default()
        };
        for s in &cfg.services {
            match &s.vip {
                Some(Vip::Route(r)) => {
                    interest.prefixes.insert(r.prefix);
                }
                Some(Vip::Address(a)) => {
                    interest.addresses.insert(a.address.addr());
                }
                None => {}
            }
        }
        events::subscribe(interest, Arc::clone(&wake), shutdown)?;
        Ok(Self {
            cfg,
            kernel,
            stats,
            wake,
            enacted: BTreeMap::new(),
            failing: BTreeMap::new(),
            first: true,
        })
    }

    /// Its counters (for `/metrics`).
    pub fn stats(&self) -> Arc<RouteStats> {
        Arc::clone(&self.stats)
    }

    async fn announce(&self, want: &WantAddr, index: u32) {
        let mac = match self.kernel.link_mac(index).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(service = %want.service, error = %e, "cannot announce the VIP address");
                return;
            }
        };
        let (count, every) = (
            self.cfg.route.announce_count,
            self.cfg.route.announce_interval,
        );
        let (ip, ifname, service) = (
            want.address.addr(),
            want.interface.clone(),
            want.service.clone(),
        );
        let stats = Arc::clone(&self.stats);
        // Spaced repeats (as keepalived does) run beside the enactor, never delaying it.
        tokio::spawn(async move {
            for i in 0..count {
                if i > 0 {
                    tokio::time::sleep(every).await;
                }
                match announce::send(index, &ifname, mac, ip) {
                    Ok(()) => {
                        stats.announcements.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::error!(%service, %ip, interface = %ifname, error = %e,
                            "announcing the VIP address failed (needs CAP_NET_RAW)");
                        return;
                    }
                }
            }
            tracing::info!(%service, %ip, interface = %ifname, count, "VIP address announced");
        });
    }

    /// Resolve interfaces, diff against the kernel and run the actions; outcome per service.
    async fn enact(
        &mut self,
        desired: &DesiredSet,
        started: Instant,
    ) -> BTreeMap<ServiceId, Outcome> {
        let mut out: BTreeMap<ServiceId, Outcome> = BTreeMap::new();
        let fail = |out: &mut BTreeMap<ServiceId, Outcome>, s: &ServiceId, epoch, e: RouteError| {
            out.insert(
                s.clone(),
                Outcome {
                    epoch,
                    error: Some(e),
                    took: started.elapsed(),
                    check: None,
                },
            );
        };
        let wanted = want::wanted(&self.cfg, desired);
        for (s, epoch, e) in wanted.problems {
            fail(&mut out, &s, epoch, e);
        }
        let protocol = self.cfg.route.protocol;

        // Routes.
        let mut routes = Vec::new();
        let mut keep = Vec::new();
        for w in wanted.routes {
            let oif = match &w.dev {
                None => None,
                Some(d) => {
                    let key = self.vip_key(&w.service, "dev");
                    match self.kernel.link_index(d, &key).await {
                        Ok(i) => Some(i),
                        Err(e) => {
                            fail(&mut out, &w.service, w.epoch, e);
                            keep.push(w);
                            continue;
                        }
                    }
                }
            };
            routes.push((w, oif));
        }
        match self.kernel.routes().await {
            Err(e) => {
                for (w, _) in &routes {
                    fail(&mut out, &w.service, w.epoch, e.clone());
                }
            }
            Ok(have) => {
                let plan = diff::routes(
                    &routes,
                    &keep,
                    &have,
                    protocol,
                    self.cfg.route.replace_foreign,
                );
                for (w, f) in plan.foreign {
                    let e = RouteError::Foreign {
                        prefix: f.prefix.to_string(),
                        table: f.table,
                        protocol: f.protocol,
                        via: f.via(),
                    };
                    if self.failing.get(&w.service) != Some(&e.to_string()) {
                        self.stats.foreign.fetch_add(1, Ordering::Relaxed);
                    }
                    fail(&mut out, &w.service, w.epoch, e);
                }
                for a in plan.actions {
                    self.run(a, &mut out, started).await;
                }
                // Matching routes that needed nothing: verified on the first apply (adopted).
                if self.first {
                    for (w, _) in routes {
                        out.entry(w.service.clone()).or_insert_with(|| {
                            tracing::info!(service = %w.service, prefix = %w.prefix, via = %w.gateway,
                                "adopted the route already in the kernel");
                            Outcome {
                                epoch: w.epoch,
                                error: None,
                                took: started.elapsed(),
                                check: Some(Check::Route(w.clone())),
                            }
                        });
                    }
                }
            }
        }

        // Addresses.
        if !wanted.addresses.is_empty() {
            let mut addrs = Vec::new();
            for w in wanted.addresses {
                match self.kernel.link_index(&w.interface, &w.key).await {
                    Ok(i) => addrs.push((w, i)),
                    Err(e) => fail(&mut out, &w.service, w.epoch, e),
                }
            }
            match self.kernel.addresses().await {
                Err(e) => {
                    for (w, _) in &addrs {
                        fail(&mut out, &w.service, w.epoch, e.clone());
                    }
                }
                Ok(have) => {
                    for a in diff::addresses(&addrs, &have) {
                        self.run(a, &mut out, started).await;
                    }
                    if self.first {
                        for (w, i) in addrs {
                            out.entry(w.service.clone()).or_insert(Outcome {
                                epoch: w.epoch,
                                error: None,
                                took: started.elapsed(),
                                check: Some(Check::Address(w, i)),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    fn vip_key(&self, service: &ServiceId, field: &str) -> String {
        let i = self
            .cfg
            .services
            .iter()
            .position(|s| &s.name == service)
            .unwrap_or_default();
        format!("service[{i}].vip.{field}")
    }

    /// Run one action; a restore (our target vanished or changed under us) is logged and counted.
    async fn run(&mut self, a: Action, out: &mut BTreeMap<ServiceId, Outcome>, started: Instant) {
        let (service, epoch, target, result, check) = match a {
            Action::Replace { want, oif, was } => {
                let r = self
                    .kernel
                    .replace(&want, oif, self.cfg.route.protocol)
                    .await;
                let target = format!("route {} via {}", want.prefix, want.gateway);
                if r.is_ok() {
                    match &was {
                        Some(k) => tracing::info!(service = %want.service, prefix = %want.prefix,
                            via = %want.gateway, was = %k.via(), "route replaced"),
                        None => tracing::info!(service = %want.service, prefix = %want.prefix,
                            via = %want.gateway, "route installed"),
                    }
                }
                (
                    want.service.clone(),
                    want.epoch,
                    target,
                    r,
                    Check::Route(want),
                )
            }
            Action::Delete(k) => {
                match self.kernel.delete(&k).await {
                    Ok(()) => tracing::info!(prefix = %k.prefix, table = k.table, via = %k.via(),
                        "deleted a route of ours (or a foreign one taken over) that no VIP wants"),
                    Err(e) => {
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(prefix = %k.prefix, error = %e, "deleting a route failed");
                    }
                }
                return;
            }
            Action::AddAddress { want, index } => {
                let r = self.kernel.add_address(&want, index).await;
                if r.is_ok() {
                    tracing::info!(service = %want.service, address = %want.address,
                        interface = %want.interface, "VIP address added");
                    self.announce(&want, index).await;
                }
                let target = format!("address {} on {} held", want.address, want.interface);
                (
                    want.service.clone(),
                    want.epoch,
                    target,
                    r,
                    Check::Address(want, index),
                )
            }
            Action::DelAddress { want, index } => {
                let r = self.kernel.del_address(&want, index).await;
                if r.is_ok() {
                    tracing::info!(service = %want.service, address = %want.address,
                        interface = %want.interface, "VIP address released");
                }
                let target = format!("address {} on {} released", want.address, want.interface);
                (
                    want.service.clone(),
                    want.epoch,
                    target,
                    r,
                    Check::Address(want, index),
                )
            }
        };
        match result {
            Ok(()) => {
                if self.enacted.get(&service) == Some(&target) {
                    self.stats.restores.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%service, %target,
                        "route restored: it was removed or changed outside switchback");
                }
                self.enacted.insert(service.clone(), target);
                out.insert(
                    service,
                    Outcome {
                        epoch,
                        error: None,
                        took: started.elapsed(),
                        check: Some(check),
                    },
                );
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                self.enacted.remove(&service);
                out.insert(
                    service,
                    Outcome {
                        epoch,
                        error: Some(e),
                        took: started.elapsed(),
                        check: None,
                    },
                );
            }
        }
    }
}

#[async_trait]
impl Reconciler for RouteEnactor {
    fn name(&self) -> &'static str {
        "route"
    }

    async fn apply(&mut self, desired: &DesiredSet) -> Vec<Applied> {
        let started = Instant::now();
        let outcomes = self.enact(desired, started).await;
        self.first = false;
        let mut applied = Vec::new();
        for (service, o) in outcomes {
            let verification = match &o.check {
                None => Verification::NotChecked,
                Some(Check::Route(w)) => {
                    verify::route(&self.kernel, w, self.cfg.route.protocol).await
                }
                Some(Check::Address(w, i)) => verify::address(&self.kernel, w, *i).await,
            };
            let error = o.error.map(|e| e.to_string());
            match &error {
                Some(e) => {
                    // A standing failure is reported once, not at every resync.
                    if self.failing.get(&service) == Some(e) {
                        continue;
                    }
                    self.failing.insert(service.clone(), e.clone());
                }
                None => {
                    self.failing.remove(&service);
                }
            }
            if let Verification::Failed(why) = &verification {
                tracing::warn!(%service, %why, "route enactment not verified");
            }
            applied.push(Applied {
                service,
                epoch: o.epoch,
                error,
                took: o.took,
                verification,
            });
        }
        applied
    }

    fn resync(&self) -> Option<Duration> {
        Some(self.cfg.route.resync)
    }

    async fn changed(&mut self) {
        self.wake.notified().await;
    }
}
