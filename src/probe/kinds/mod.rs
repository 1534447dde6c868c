//! Check kinds: the shared resources they use ([`Shared`]) and one running probe per check
//! ([`Probe`]), whose `run` performs one attempt within the check's timeout.

pub(crate) mod dns;
mod exec;
mod http;
pub(crate) mod icmp;
pub(crate) mod iface;
pub(crate) mod local;
mod tcp;

use super::defs::{CheckDef, CheckKind};
use super::evidence::Evidence;
use super::window::{self, Window};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// The result of one attempt.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    /// Whether the attempt passed.
    pub(crate) ok: bool,
    /// How strong the failure's evidence is (`Definitive` for a pass).
    pub(crate) evidence: Evidence,
    /// Round-trip time, when measured.
    pub(crate) rtt: Option<Duration>,
    /// Short human text: status line, error, or window statistics.
    pub(crate) detail: String,
}

impl Outcome {
    pub(crate) fn pass(rtt: Option<Duration>, detail: impl Into<String>) -> Self {
        Outcome {
            ok: true,
            evidence: Evidence::Definitive,
            rtt,
            detail: detail.into(),
        }
    }

    /// A definitive failure: the target (or the probe's own path to it) said no.
    pub(crate) fn fail(rtt: Option<Duration>, detail: impl Into<String>) -> Self {
        Self::failed(Evidence::Definitive, rtt, detail)
    }

    /// An ambiguous failure: no answer in time.
    pub(crate) fn silent(detail: impl Into<String>) -> Self {
        Self::failed(Evidence::Ambiguous, None, detail)
    }

    /// The prober's own trouble: says nothing about the target.
    pub(crate) fn local(detail: impl Into<String>) -> Self {
        Self::failed(Evidence::Local, None, detail)
    }

    /// A failure with the given evidence.
    pub(crate) fn failed(
        evidence: Evidence,
        rtt: Option<Duration>,
        detail: impl Into<String>,
    ) -> Self {
        Outcome {
            ok: false,
            evidence,
            rtt,
            detail: detail.into(),
        }
    }
}

/// The evidence of an I/O error on the way to a target: this host's own trouble is local
/// (issue #13); refused, reset or host unreachable are the target or its path saying no; a
/// timeout or anything else is silence.
pub(crate) fn io_evidence(e: &std::io::Error) -> Evidence {
    use std::io::ErrorKind::*;
    // The prober's own trouble (EMFILE, no route from this host, ...) first: see `local`.
    if local::io(e).is_some() {
        return Evidence::Local;
    }
    match e.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | HostUnreachable
        | NetworkUnreachable | BrokenPipe => Evidence::Definitive,
        _ => Evidence::Ambiguous,
    }
}

/// Most concurrent `exec` checks; scripts are the heaviest kind.
const EXEC_SLOTS: usize = 32;

/// Resources shared by every check of one prober: pooled HTTP clients, one ICMP socket per
/// family, the link-event table, the exec limiter.
pub(crate) struct Shared {
    pub(crate) http: HashMap<http::ClientKey, reqwest::Client>,
    pub(crate) icmp: icmp::Clients,
    pub(crate) links: Option<watch::Receiver<Arc<iface::LinkTable>>>,
    pub(crate) links_error: Option<String>,
    pub(crate) exec_slots: Semaphore,
}

impl Shared {
    /// Builds HTTP clients for every distinct TLS setting; ICMP and links are added by the caller.
    pub(crate) fn new(checks: &[Arc<CheckDef>]) -> Result<Self, super::ProbeError> {
        let mut http = HashMap::new();
        for c in checks {
            if let CheckKind::Http(h) = &c.kind {
                let key = http::ClientKey::of(h);
                if !http.contains_key(&key) {
                    http.insert(key.clone(), http::client(&c.name, &key)?);
                }
            }
        }
        Ok(Shared {
            http,
            icmp: icmp::Clients::default(),
            links: None,
            links_error: None,
            exec_slots: Semaphore::new(EXEC_SLOTS),
        })
    }
}

/// One check's running state: its definition plus per-kind state (pinger, window).
pub(crate) struct Probe {
    def: Arc<CheckDef>,
    shared: Arc<Shared>,
    icmp: Option<icmp::PingState>,
    window: Option<Window>,
    links: Option<watch::Receiver<Arc<iface::LinkTable>>>,
}

impl Probe {
    pub(crate) fn new(def: Arc<CheckDef>, shared: Arc<Shared>) -> Self {
        let (icmp, window, links) = match &def.kind {
            CheckKind::Icmp(spec) => (
                Some(icmp::PingState::new(spec.target)),
                spec.window.as_ref().map(|w| Window::new(w.size)),
                None,
            ),
            CheckKind::Iface(_) => (None, None, shared.links.clone()),
            _ => (None, None, None),
        };
        Probe {
            def,
            shared,
            icmp,
            window,
            links,
        }
    }

    /// The definition this probe runs.
    pub(crate) fn def(&self) -> &Arc<CheckDef> {
        &self.def
    }

    /// Whether results arrive as events (link changes) rather than by polling.
    pub(crate) fn event_driven(&self) -> bool {
        self.links.is_some()
    }

    /// Resolves when something pushed (a link event) may have changed this check's result;
    /// never resolves for polled kinds.
    pub(crate) async fn changed(&mut self) {
        match self.links.as_mut() {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    // The monitor ended; fall back to the schedule only.
                    self.links = None;
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }

    /// One attempt, bounded by the check's timeout.
    ///
    /// Each kind's future is boxed: it lives only during the attempt, so the long-lived
    /// per-check task stays small (a reqwest or process future is kilobytes; with ten
    /// thousand checks that alone would be tens of megabytes).
    pub(crate) async fn run(&mut self) -> Outcome {
        let timeout = self.def.timing.timeout;
        let def = self.def.clone();
        match &def.kind {
            CheckKind::Icmp(spec) => {
                let sample = match self.icmp.as_mut() {
                    Some(st) => Box::pin(st.ping(&self.shared.icmp, timeout)).await,
                    None => Outcome::local("no ICMP state"),
                };
                match (&spec.window, self.window.as_mut()) {
                    (Some(ws), Some(w)) => {
                        if sample.evidence == Evidence::Local {
                            return sample;
                        }
                        w.push(sample.ok.then_some(sample.rtt.unwrap_or_default()));
                        let stats = w.stats();
                        match window::judge(&stats, ws) {
                            Ok(()) => Outcome::pass(sample.rtt, stats.to_string()),
                            Err(why) => Outcome::fail(sample.rtt, why),
                        }
                    }
                    _ => sample,
                }
            }
            CheckKind::Iface(spec) => iface::judge(
                &spec.iface,
                self.links.as_mut().map(|rx| rx.borrow_and_update().clone()),
                self.shared.links_error.as_deref(),
            ),
            // exec enforces its own timeout so it can kill the whole process group.
            CheckKind::Exec(spec) => Box::pin(exec::run(&self.shared, &def, spec, timeout)).await,
            kind => {
                let attempt = async {
                    match kind {
                        CheckKind::Http(spec) => http::run(&self.shared, spec, timeout).await,
                        CheckKind::Tcp(spec) => tcp::run(spec).await,
                        CheckKind::Dns(spec) => dns::run(spec).await,
                        CheckKind::Exec(_) | CheckKind::Icmp(_) | CheckKind::Iface(_) => {
                            Outcome::local("unreachable kind")
                        }
                    }
                };
                match tokio::time::timeout(timeout, Box::pin(attempt)).await {
                    Ok(o) => o,
                    Err(_) => Outcome::silent(format!("timed out after {timeout:?}")),
                }
            }
        }
    }
}

/// Resolves a possibly relative path from a probes file against that file's folder.
pub(crate) fn resolve(base: &std::path::Path, p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.parent().unwrap_or(std::path::Path::new(".")).join(p)
    }
}
