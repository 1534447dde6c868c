//! The running prober: one tokio task per check ([`super::task`]) feeding one aggregator.
//!
//! ```text
//! check task ×N ──Report (bounded mpsc)──▶ aggregator ──Observation (bounded mpsc)──▶ tx
//!   sleep/jitter, run, rise/fall            status table, transitions, heartbeat tick
//! ```

use super::ProbeError;
use super::defs::{CheckDef, CheckKind, ProbeFile};
use super::events::ProbeEvent;
use super::evidence::Evidence;
use super::kinds::icmp::{self, SockKind};
use super::kinds::{self, Probe, Shared};
use super::status::{CheckStatus, StateChange, StatusHandle};
use super::summary::{self, Layout};
use super::task::{Report, check_task};
use crate::config::Config;
use crate::model::{Health, Observation, Timestamp};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Capacity of the check → aggregator channel; a full channel slows checks down rather
/// than growing memory.
const REPORT_CAPACITY: usize = 4096;

/// The shortest heartbeat, whatever the intervals.
const MIN_HEARTBEAT: Duration = Duration::from_millis(50);

/// Runs every check of this node and publishes observations.
pub struct Prober {
    pub(crate) checks: Vec<Arc<CheckDef>>,
    pub(crate) layout: Layout,
    pub(crate) shared: Shared,
    icmp_families: Vec<(IpAddr, SockKind)>,
    needs_links: bool,
    status: StatusHandle,
    heartbeat: Duration,
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

impl Prober {
    /// Validates the checks against the config and this host (ICMP sockets, TLS files).
    pub fn new(cfg: &Config, files: Vec<ProbeFile>) -> Result<Prober, ProbeError> {
        let mut checks = Vec::new();
        let mut services: Vec<_> = cfg
            .services
            .iter()
            .map(|s| (s.name.clone(), Vec::new()))
            .collect();
        let mut seen_files: Vec<PathBuf> = Vec::new();
        for file in files {
            // A file shared by several services is run once and counts for each of them.
            if seen_files.iter().any(|p| same_file(p, &file.path)) {
                continue;
            }
            seen_files.push(file.path.clone());
            let owners: Vec<usize> = cfg
                .services
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    same_file(&file.path, &kinds::resolve(&cfg.source, &s.probes))
                        || same_file(&file.path, &s.probes)
                })
                .map(|(i, _)| i)
                .collect();
            for mut def in file.checks {
                if let Some(site) = &def.site
                    && !cfg.sites.contains_key(site)
                {
                    return Err(ProbeError::UnknownSite {
                        check: def.name.clone(),
                        site: site.clone(),
                        file: file.path.clone(),
                        line: def.line,
                    });
                }
                if let CheckKind::Http(h) = &mut def.kind
                    && let Some(ca) = &h.ca_file
                {
                    h.ca_file = Some(kinds::resolve(&file.path, ca));
                }
                for o in &owners {
                    services[*o].1.push(checks.len());
                }
                checks.push(Arc::new(def));
            }
        }
        let mut icmp_families: Vec<(IpAddr, SockKind)> = Vec::new();
        for c in &checks {
            if let CheckKind::Icmp(spec) = &c.kind
                && !icmp_families
                    .iter()
                    .any(|(ip, _)| ip.is_ipv4() == spec.target.is_ipv4())
            {
                let kind = icmp::capability(spec.target).map_err(|(d, r)| {
                    ProbeError::IcmpUnavailable {
                        check: c.name.clone(),
                        family: if spec.target.is_ipv4() {
                            "IPv4"
                        } else {
                            "IPv6"
                        },
                        dgram: d.to_string(),
                        raw: r.to_string(),
                    }
                })?;
                icmp_families.push((spec.target, kind));
            }
        }
        let needs_links = checks.iter().any(|c| matches!(c.kind, CheckKind::Iface(_)));
        let shared = Shared::new(&checks)?;
        let shortest = checks
            .iter()
            .map(|c| c.timing.interval)
            .min()
            .unwrap_or(Duration::from_secs(1));
        let heartbeat = shortest.min(cfg.votes.stale_after / 2).max(MIN_HEARTBEAT);
        let status = StatusHandle::default();
        if let Ok(mut s) = status.0.lock() {
            *s = checks.iter().map(|c| initial_status(c)).collect();
        }
        let layout = Layout {
            node: cfg.node.id.clone(),
            domain: cfg.node.domain.clone(),
            sites: cfg.sites.keys().cloned().collect(),
            services,
            gates: cfg
                .services
                .iter()
                .flat_map(|s| s.policy.gates.iter().cloned())
                .collect(),
        };
        Ok(Prober {
            checks,
            layout,
            shared,
            icmp_families,
            needs_links,
            status,
            heartbeat,
        })
    }

    /// A handle to every check's live status (state, last error, last RTT), for the admin API.
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// Every check's status now (same as `status().snapshot()`).
    pub fn snapshot(&self) -> Vec<CheckStatus> {
        self.status.snapshot()
    }

    /// How often an observation is sent even without a change: the shortest check interval,
    /// capped at half of `votes.stale_after` so a healthy node's vote never goes stale.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Opens the per-family ICMP clients and the link monitor (inside the runtime).
    pub(crate) async fn open(&mut self, shutdown: &CancellationToken) -> Result<(), ProbeError> {
        for (ip, kind) in &self.icmp_families {
            self.shared
                .icmp
                .open(*ip, *kind)
                .map_err(|source| ProbeError::IcmpClient {
                    family: if ip.is_ipv4() { "IPv4" } else { "IPv6" },
                    source,
                })?;
        }
        if self.needs_links {
            self.shared.links = Some(kinds::iface::start(shutdown.clone()).await?);
        }
        Ok(())
    }

    /// Runs all checks until `shutdown`, sending an observation on every state change and
    /// every heartbeat. Fails only if the shared sockets cannot be opened.
    pub async fn run(
        mut self,
        tx: mpsc::Sender<Observation>,
        shutdown: CancellationToken,
    ) -> Result<(), ProbeError> {
        let stop = shutdown.child_token();
        self.open(&stop).await?;
        let Prober {
            checks,
            layout,
            shared,
            status,
            heartbeat,
            ..
        } = self;
        let shared = Arc::new(shared);
        let (rep_tx, mut rep_rx) = mpsc::channel::<Report>(REPORT_CAPACITY);
        let mut tasks = JoinSet::new();
        for (index, def) in checks.iter().enumerate() {
            let probe = Probe::new(def.clone(), shared.clone());
            let span = tracing::info_span!("check", name = %def.name);
            tasks.spawn(check_task(index, probe, rep_tx.clone(), stop.clone()).instrument(span));
        }
        drop(rep_tx);
        tracing::info!(checks = checks.len(), heartbeat = ?heartbeat, "prober running");
        // Authorities drop a sequence number they have seen (replay protection), so a restarted
        // probe must not start again from zero: start at wall-clock milliseconds x 1000, which
        // grows across restarts and leaves room for 1,000 observations a millisecond.
        let mut seq = Timestamp::now().0.saturating_mul(1000);
        let mut voting: Option<bool> = None;
        let mut tick = tokio::time::interval(heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let send = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                r = rep_rx.recv() => match r {
                    Some(r) => {
                        // Apply every report already queued before building one observation:
                        // a burst of changes (thousands of checks settling at start) yields
                        // one observation with all of them, still without waiting.
                        let mut changed = apply(&status, r);
                        for _ in 0..REPORT_CAPACITY {
                            match rep_rx.try_recv() {
                                Ok(r) => changed |= apply(&status, r),
                                Err(_) => break,
                            }
                        }
                        changed
                    }
                    None => break,
                },
                _ = tick.tick() => true,
            };
            if send {
                seq += 1;
                let obs = match status.0.lock() {
                    Ok(all) => summary::observation(&layout, &all, seq, Timestamp::now()),
                    Err(_) => break,
                };
                // Abstention is logged when it starts and ends, not on every heartbeat.
                if voting != Some(obs.self_ok) {
                    match &obs.self_detail {
                        Some(detail) if !obs.self_ok => ProbeEvent::Abstaining { detail }.log(),
                        _ => ProbeEvent::Voting.log(),
                    }
                    voting = Some(obs.self_ok);
                }
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    r = tx.send(obs) => if r.is_err() {
                        tracing::warn!("observation receiver gone; prober stops");
                        break;
                    },
                }
                tick.reset();
            }
        }
        stop.cancel();
        tasks.shutdown().await;
        Ok(())
    }
}

/// Records one report; returns whether it changed a state (so an observation is due now).
fn apply(status: &StatusHandle, r: Report) -> bool {
    let Ok(mut all) = status.0.lock() else {
        return false;
    };
    let Some(st) = all.get_mut(r.index) else {
        return false;
    };
    st.runs += 1;
    // Local trouble is no result about the target: it abstains (see `kinds::local`).
    let was_local = st.local.is_some();
    let local = r.outcome.evidence == Evidence::Local;
    st.local = local.then(|| r.outcome.detail.clone());
    if local {
        st.last_evidence = Some(Evidence::Local);
        if !was_local {
            tracing::warn!(check = %st.name, detail = %r.outcome.detail, "check abstains: local trouble");
        }
        st.detail = r.outcome.detail;
        // Abstention starting is a change of what the node votes.
        return !was_local;
    }
    st.last_ok = Some(r.outcome.ok);
    if r.outcome.rtt.is_some() {
        st.last_rtt = r.outcome.rtt;
    }
    st.degraded = r.degraded;
    st.silent = r.silent;
    st.down_by = r.down_by;
    if !r.outcome.ok {
        st.last_evidence = Some(r.outcome.evidence);
        st.failures += 1;
        st.last_error = Some(r.outcome.detail.clone());
    }
    st.detail = r.outcome.detail;
    st.state = r.state;
    match r.transition {
        Some(t) => {
            st.last_change = Some(StateChange {
                from: t.from,
                to: t.to,
                at: Timestamp::now(),
                after: r.streak,
                why: st.detail.clone(),
            });
            ProbeEvent::CheckChanged {
                check: &st.name,
                site: st.site.as_ref(),
                layer: st.layer,
                from: t.from,
                to: t.to,
                why: &st.detail,
            }
            .log();
            true
        }
        None => false,
    }
}

pub(crate) fn initial_status(c: &CheckDef) -> CheckStatus {
    CheckStatus {
        name: c.name.clone(),
        site: c.site.clone(),
        layer: c.layer,
        kind: c.kind.keyword(),
        state: Health::Unknown,
        last_ok: None,
        last_error: None,
        last_rtt: None,
        detail: String::new(),
        runs: 0,
        failures: 0,
        last_change: None,
        local: None,
        last_evidence: None,
        degraded: false,
        silent: false,
        down_by: None,
    }
}

#[cfg(test)]
mod tests;
