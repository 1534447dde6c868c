//! Helpers for the probe suites: a config built in code, probe files on disk, environment
//! requirements (fail loudly under CI=true, skip with a reason otherwise), and network
//! namespaces that are always deleted, even when a test fails.

use crate::fixture;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchback::config::*;
use switchback::model::{CheckName, Observation, ServiceId, SiteId};
use switchback::probe::defs::{self, ProbeFile};
use tokio::sync::mpsc;

/// Returns true when the requirement holds; otherwise panics under `CI=true`, or prints why
/// the test is skipped and returns false.
pub(crate) fn require(what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("required for this test under CI: {what}");
    }
    eprintln!("SKIP: {what}");
    false
}

/// Whether we run as root (netns, nft, raw sockets).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether a program is on PATH.
pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A minimal probe-only config: sites `bj` (primary) and `sh`, and the given services, each
/// `(name, probes file, gates)`, voting with quorum 1.
pub(crate) fn config(source: &Path, services: &[(&str, &Path, &[&str])]) -> Config {
    let policy = Policy {
        quorum: 1,
        min_domains: 1,
        confirm_timeout: Duration::from_secs(600),
        ..fixture::policy()
    };
    let names: Vec<String> = services.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    let mut c = fixture::config_owned(&names, vec![], policy);
    c.source = source.to_owned();
    c.node.id = "probe-test".into();
    c.node.roles = vec![Role::Probe];
    c.node.state_dir = std::env::temp_dir();
    c.votes.stale_after = Duration::from_secs(2);
    c.dns.listen.clear();
    for (svc, (_, probes, gates)) in c.services.iter_mut().zip(services) {
        svc.addresses.clear();
        svc.probes = probes.to_path_buf();
        svc.policy.gates = gates.iter().map(|g| CheckName::from(*g)).collect();
    }
    c
}

/// Writes `text` as a probes file in `dir` and loads it (panics with every problem if invalid).
pub(crate) fn probes(dir: &Path, name: &str, text: &str) -> (PathBuf, ProbeFile) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write probes file");
    match defs::load(&path) {
        Ok(f) => (path, f),
        Err(e) => panic!("{e:?}"),
    }
}

/// Waits for the first observation satisfying `pred` (bounded, so a broken prober fails the
/// test instead of hanging it).
pub(crate) async fn until(
    rx: &mut mpsc::Receiver<Observation>,
    what: &str,
    pred: impl Fn(&Observation) -> bool,
) -> Observation {
    let wait = async {
        while let Some(o) = rx.recv().await {
            if pred(&o) {
                return Some(o);
            }
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(20), wait).await {
        Ok(Some(o)) => o,
        Ok(None) => panic!("prober stopped before: {what}"),
        Err(_) => panic!("no observation within 20s: {what}"),
    }
}

/// The app verdict of `service` at `site` in an observation.
pub(crate) fn app(o: &Observation, service: &str, site: &str) -> switchback::model::Health {
    o.services
        .get(&ServiceId::from(service))
        .and_then(|m| m.get(&SiteId::from(site)))
        .copied()
        .unwrap_or_default()
}

static NS_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A network namespace this test created; deleted on drop (also when the test panics).
pub(crate) struct Netns {
    /// Its name under /run/netns.
    pub(crate) name: String,
}

impl Netns {
    /// Creates a uniquely named namespace with loopback up.
    pub(crate) fn new(tag: &str) -> Netns {
        let name = format!(
            "sbp-{tag}-{}-{}",
            std::process::id(),
            NS_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Creates a namespace with the given prefix (a helper's tag) instead of `sbp`.
    pub(crate) fn prefixed(prefix: &str, tag: &str) -> Netns {
        let name = format!(
            "{prefix}-{tag}-{}-{}",
            std::process::id(),
            NS_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n NAME args...`, panicking with stderr on failure.
    pub(crate) fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip", "-n", &self.name];
        full.extend_from_slice(args);
        sh(&full);
    }

    /// Runs `f` on a fresh thread that has entered this namespace, inside a current-thread
    /// tokio runtime, so every socket the prober opens lives in the namespace.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
    ) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(f())
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command, panicking with its stderr when it fails.
pub(crate) fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
