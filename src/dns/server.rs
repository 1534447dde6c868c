//! [`DnsServer`]: bind, load zones and serials, serve; [`DnsHandle`]: apply views, read counters.
//!
//! ```text
//!  apply(views) ──▶ Enactor (mutex) ──build──▶ Snapshot ──ArcSwap::store──▶ udp/tcp loops
//!                        │ bump + persist serial
//!                        └──▶ watch<serials> ──▶ notifier per secondary ──▶ NOTIFY
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use hickory_proto::rr::TSigner;
use hickory_server::proto::rr::{Name, Record};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::error::DnsError;
use super::hot::HotTable;
use super::journal::{self, Delta, Journal};
use super::listen::bind_all;
use super::metrics::{Counters, DnsCounters};
use super::notify::{self, ZoneSerial};
use super::serial::SerialStore;
use super::shared::{Enactor, Shared};
use super::snapshot::{self, ServiceDef, Snapshot, ZoneBase};
use super::tsig::Keyring;
use super::view::{self, Answer};
use super::xfr::XfrPolicy;
use super::zonefile;
use crate::config::Config;
use crate::model::ServiceId;
use crate::policy::Desired;

/// The authority, bound and loaded, not yet serving.
pub struct DnsServer {
    shared: Arc<Shared>,
    udp: Vec<std::net::UdpSocket>,
    tcp: Vec<std::net::TcpListener>,
    addrs: Vec<SocketAddr>,
    notify: Vec<SocketAddr>,
    notify_signer: Option<TSigner>,
    notify_interval: std::time::Duration,
}

/// A cheap, cloneable way to tell the authority about decisions and to read its counters.
#[derive(Clone)]
pub struct DnsHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DnsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsHandle")
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl DnsServer {
    /// Loads zones and serials and binds every listen address (UDP ×`udp_sockets`, TCP).
    pub fn bind(cfg: &Config) -> Result<DnsServer, DnsError> {
        // The config loader already resolved relative paths against the config's folder.
        let base = PathBuf::new();
        let mut bases = Vec::new();
        for z in &cfg.dns.zones {
            bases.push(ZoneBase::new(zonefile::load(&resolve(&base, z))?)?);
        }
        let defs = service_defs(cfg, &bases)?;
        for (i, b) in bases.iter_mut().enumerate() {
            let names: Vec<Name> = defs
                .iter()
                .flat_map(|d| d.names.iter())
                .filter(|(zone, _)| *zone == i)
                .map(|(_, n)| n.clone())
                .collect();
            b.set_names(&names);
        }
        let mut static_hot = HotTable::default();
        for b in &bases {
            b.render_static(&mut static_hot);
        }
        let mut store = SerialStore::open(&resolve(&base, &cfg.node.state_dir))?;
        let mut serials = Vec::new();
        for b in &bases {
            serials.push(store.start(&b.file.origin, b.file.soa.serial)?);
        }
        let fallback = cfg
            .sites
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "primary".into());
        let primary = cfg.primary().cloned().unwrap_or(fallback);
        let views: Vec<Desired> = defs
            .iter()
            .map(|d| Desired::initial(&d.service, &primary))
            .collect();
        let answers: Vec<Answer> = defs
            .iter()
            .zip(&views)
            .map(|(d, v)| view::answer(&d.service, v))
            .collect();
        let static_hot = Arc::new(static_hot);
        let journals = vec![Journal::new(); bases.len()];
        let snap = snapshot::build(&bases, &static_hot, &defs, &answers, &serials, &journals)?;
        let (tx, _) = watch::channel(zone_serials(&snap));
        let keys = Keyring::load(&cfg.dns.tsig_keys, &base)?;
        let notify_signer = match &cfg.dns.notify_key {
            None => None,
            Some(name) => Some(keys.signer(name).ok_or_else(|| DnsError::Tsig {
                name: name.clone(),
                file: PathBuf::new(),
                problem: "dns.notify_key names no key of dns.tsig_keys".into(),
            })?),
        };
        let xfr = XfrPolicy {
            allow: cfg.dns.allow_transfer.clone(),
            keys: Arc::new(keys),
        };
        let shared = Arc::new(Shared {
            withdrawn: Default::default(),
            snap: ArcSwap::from_pointee(snap),
            counters: Arc::new(Counters::default()),
            xfr,
            enactor: Mutex::new(Enactor {
                bases,
                static_hot,
                defs,
                views,
                answers,
                serials,
                journals,
                store,
            }),
            serials: tx,
        });
        let (udp, tcp, addrs) = bind_all(&cfg.dns.listen, cfg.dns.udp_sockets.max(1))?;
        Ok(DnsServer {
            shared,
            udp,
            tcp,
            addrs,
            notify: cfg.dns.notify.clone(),
            notify_interval: cfg.dns.notify_interval,
            notify_signer,
        })
    }

    /// The bound addresses (with the real port when the config said 0), one per listen entry.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A handle for applying views and reading counters.
    pub fn handle(&self) -> DnsHandle {
        DnsHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves UDP and TCP and sends NOTIFYs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), DnsError> {
        let mut tasks = JoinSet::new();
        let rt = tokio::runtime::Handle::current();
        let mut threads = Vec::new();
        for (i, sock) in self.udp.into_iter().enumerate() {
            let addr = sock.local_addr().map_err(|source| DnsError::Serve {
                task: "udp",
                addr: self
                    .addrs
                    .first()
                    .copied()
                    .unwrap_or(([0, 0, 0, 0], 0).into()),
                source,
            })?;
            let (shared, token, rt) = (self.shared.clone(), shutdown.clone(), rt.clone());
            let span = tracing::info_span!("dns_udp", %addr);
            let t = std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || span.in_scope(|| super::udp::serve(sock, shared, token, rt)))
                .map_err(|source| DnsError::Serve {
                    task: "udp thread",
                    addr,
                    source,
                })?;
            threads.push(t);
        }
        for l in self.tcp {
            let addr = l.local_addr().map_err(|source| DnsError::Serve {
                task: "tcp",
                addr: self
                    .addrs
                    .first()
                    .copied()
                    .unwrap_or(([0, 0, 0, 0], 0).into()),
                source,
            })?;
            let l = tokio::net::TcpListener::from_std(l).map_err(|source| DnsError::Serve {
                task: "tcp",
                addr,
                source,
            })?;
            tasks.spawn(
                super::tcp::serve(l, self.shared.clone(), shutdown.clone())
                    .instrument(tracing::info_span!("dns_tcp", %addr)),
            );
        }
        for target in self.notify {
            tasks.spawn(
                notify::run(
                    target,
                    self.shared.serials.subscribe(),
                    self.shared.counters.clone(),
                    self.notify_signer.clone(),
                    self.notify_interval,
                    shutdown.clone(),
                )
                .instrument(tracing::info_span!("dns_notify", %target)),
            );
        }
        for addr in &self.addrs {
            tracing::info!(%addr, "dns listening on {addr}");
        }
        shutdown.cancelled().await;
        while tasks.join_next().await.is_some() {}
        let joined = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        });
        let _ = joined.await;
        tracing::info!("dns stopped");
        Ok(())
    }
}

impl DnsHandle {
    /// Stop answering (drop every query) or answer again; see `on_isolation = "withdraw"`.
    pub fn set_withdrawn(&self, withdrawn: bool) {
        let was = self
            .shared
            .withdrawn
            .swap(withdrawn, std::sync::atomic::Ordering::Relaxed);
        if was != withdrawn {
            tracing::warn!(
                withdrawn,
                "dns answers {}",
                if withdrawn { "withdrawn" } else { "resumed" }
            );
        }
    }

    /// Applies desired states; see [`DnsHandle::apply_changes`]. Returns whether anything
    /// changed.
    pub fn apply(&self, views: &[Desired]) -> Result<bool, DnsError> {
        Ok(!self.apply_changes(views)?.is_empty())
    }

    /// Applies desired states (an older epoch than the one served is ignored); when an answer
    /// changed, bumps the affected zones' serials (persisted), swaps in a new snapshot and
    /// schedules NOTIFY. Returns the services whose answers changed.
    pub fn apply_changes<'a>(
        &self,
        views: impl IntoIterator<Item = &'a Desired>,
    ) -> Result<Vec<ServiceId>, DnsError> {
        let mut guard = self
            .shared
            .enactor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let e = &mut *guard;
        let mut changed_zones = vec![false; e.bases.len()];
        let mut deltas: Vec<(Vec<Record>, Vec<Record>)> = vec![(vec![], vec![]); e.bases.len()];
        let mut changed_services = Vec::new();
        for v in views {
            let Some(i) = e.defs.iter().position(|d| d.service.name == v.service) else {
                tracing::debug!(service = %v.service, "dns: view for a service without names");
                continue;
            };
            if v.epoch < e.views[i].epoch {
                tracing::warn!(service = %v.service, epoch = %v.epoch, serving = %e.views[i].epoch,
                    "dns: stale view ignored");
                continue;
            }
            let answer = view::answer(&e.defs[i].service, v);
            e.views[i] = v.clone();
            if answer.addresses == e.answers[i].addresses && answer.ttl != e.answers[i].ttl {
                // Health only (degraded TTL on or off): served live, no serial, no NOTIFY.
                e.answers[i] = answer;
                changed_services.push(v.service.clone());
                continue;
            }
            if answer != e.answers[i] {
                for (zone, name) in &e.defs[i].names {
                    if let Some(c) = changed_zones.get_mut(*zone) {
                        *c = true;
                    }
                    if let Some((removed, added)) = deltas.get_mut(*zone) {
                        removed.extend(records(&snapshot::name_sets(name, &e.answers[i], 0)));
                        added.extend(records(&snapshot::name_sets(name, &answer, 0)));
                    }
                }
                e.answers[i] = answer;
                changed_services.push(v.service.clone());
            }
        }
        if changed_services.is_empty() {
            return Ok(changed_services);
        }
        for ((i, changed), (removed, added)) in changed_zones.iter().enumerate().zip(deltas) {
            if *changed {
                let origin = e.bases[i].file.origin.clone();
                let from = e.serials[i];
                e.serials[i] = e.store.next(&origin, from)?;
                let delta = Delta {
                    from,
                    to: e.serials[i],
                    removed,
                    added,
                };
                journal::push(&mut e.journals[i], delta);
            }
        }
        let snap = snapshot::build(
            &e.bases,
            &e.static_hot,
            &e.defs,
            &e.answers,
            &e.serials,
            &e.journals,
        )?;
        let serials = zone_serials(&snap);
        self.shared.snap.store(Arc::new(snap));
        Counters::bump(&self.shared.counters.snapshots);
        tracing::info!(services = ?changed_services.iter().map(ServiceId::as_str).collect::<Vec<_>>(),
            serials = ?e.serials, "dns snapshot swapped");
        self.shared.serials.send_replace(serials);
        Ok(changed_services)
    }

    /// The serial now served for a zone apex (e.g. `boss.example.`).
    pub fn serial(&self, zone: &str) -> Option<u32> {
        let name = Name::from_ascii(zone).ok()?;
        let snap = self.shared.snap.load();
        snap.zones.iter().find(|z| z.apex == name).map(|z| z.serial)
    }

    /// The shared state (tests drive the answer path directly).
    #[cfg(test)]
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The counters, for `/metrics`.
    pub fn counters(&self) -> DnsCounters {
        self.shared.counters.read()
    }
}

impl crate::metrics::Exposition for DnsHandle {
    fn render(&self, out: &mut String) {
        self.counters().render(out);
    }
}

/// The records of a name's A and AAAA sets.
fn records(sets: &super::zone::NameSets) -> Vec<Record> {
    sets.a
        .iter()
        .chain(sets.aaaa.iter())
        .flat_map(|s| s.records_without_rrsigs().cloned())
        .collect()
}

fn zone_serials(snap: &Snapshot) -> Vec<ZoneSerial> {
    snap.zones
        .iter()
        .filter_map(|z| {
            Some(ZoneSerial {
                apex: z.apex.clone(),
                serial: z.serial,
                soa: z.soa_answer.records_without_rrsigs().next()?.clone(),
            })
        })
        .collect()
}

/// Matches each service name to the zone that holds it, refusing names that are static records.
fn service_defs(cfg: &Config, bases: &[ZoneBase]) -> Result<Vec<ServiceDef>, DnsError> {
    let mut defs = Vec::new();
    for s in &cfg.services {
        let mut names = Vec::new();
        for n in &s.names {
            let fail = |problem: String| DnsError::Service {
                service: s.name.to_string(),
                name: n.clone(),
                problem,
            };
            let name = Name::from_ascii(n)
                .map_err(|e| fail(format!("not a DNS name: {e}")))?
                .to_lowercase();
            let mut name = name;
            name.set_fqdn(true);
            let zone = bases
                .iter()
                .enumerate()
                .filter(|(_, b)| b.apex.zone_of(&name))
                .max_by_key(|(_, b)| b.apex.num_labels())
                .map(|(i, _)| i)
                .ok_or_else(|| fail("is not inside any served zone".into()))?;
            let text = zonefile::fqdn_text(&name);
            let file = &bases[zone].file;
            if file.owners.contains(&text) {
                return Err(fail(format!(
                    "is also a static record in {}:{}; service names must not be in the zone file",
                    file.path.display(),
                    file.line_of(&text)
                )));
            }
            names.push((zone, name));
        }
        if !names.is_empty() {
            defs.push(ServiceDef {
                service: s.clone(),
                names,
            });
        }
    }
    Ok(defs)
}
