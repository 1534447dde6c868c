//! Shared harness for the DNS suites: a config, the server in-process on 127.0.0.1 port 0,
//! `dig`/`kdig` runners, and a rule for tools that are missing here.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fixture;
use switchback::config::{AllDown, Config, Policy, Service};
use switchback::dns::{DnsHandle, DnsServer};
use switchback::model::{Committed, Decision, DecisionKind, Epoch, ServiceRecord, Timestamp};
use switchback::policy::Desired;
use tokio_util::sync::CancellationToken;

/// The example zone shipped in the repository.
pub(crate) fn shipped_zone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone")
}

/// A tool the test needs: present → its path; absent → fail when CI=true, else skip (None).
pub(crate) fn require(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and required tool `{tool}` is missing"
        );
        eprintln!("SKIP: `{tool}` not installed");
    }
    found
}

/// A service in the example zone with bj/sh addresses.
pub(crate) fn service(name: &str, all_down: AllDown, bj: &str, sh: &str) -> Service {
    let policy = Policy {
        all_down,
        damping: switchback::config::presets::standard().policy.damping,
        ..fixture::policy()
    };
    fixture::service(name, ip(bj), ip(sh), policy)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

/// A config serving `zone` on 127.0.0.1:0 (2 UDP sockets) with state in `state_dir`.
pub(crate) fn config(zone: &Path, state_dir: &Path, services: Vec<Service>) -> Config {
    let mut c = fixture::dns_config(zone, state_dir, services);
    c.dns.udp_sockets = 2;
    c
}

/// The default two services of the suites.
pub(crate) fn services() -> Vec<Service> {
    vec![
        service("crm", AllDown::Keep, "10.1.0.10", "10.2.0.10"),
        service("billing", AllDown::None, "10.1.0.11", "10.2.0.11"),
        service("accounting", AllDown::All, "10.1.0.12", "10.2.0.12"),
    ]
}

/// A running in-process server; cancelled and joined on drop.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) handle: DnsHandle,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Binds and starts serving `cfg`.
    pub(crate) fn start(cfg: &Config) -> Self {
        let server = DnsServer::bind(cfg).expect("bind dns");
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            server.run(token).await.expect("dns run");
        });
        Self {
            addr,
            handle,
            shutdown,
            task: Some(task),
        }
    }

    /// Stops serving and waits for every task to finish.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("dns shut down within 10 s")
                .expect("dns task");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The desired state of `service` switched to `site` at `epoch` with only `up` seen up,
/// derived as every authority derives it from a committed record (`Desired::of`).
pub(crate) fn view(service: &str, site: &str, epoch: u64, degraded: bool, up: &[&str]) -> Desired {
    let cfg = fixture::config(&[service], Vec::new(), fixture::policy());
    let record = ServiceRecord {
        committed: Committed {
            decision: Decision {
                service: service.into(),
                active_site: site.into(),
                epoch: Epoch(epoch),
                kind: DecisionKind::Operator,
                reason: "test".into(),
                at: Timestamp(epoch),
            },
            operator: Default::default(),
            damping: Default::default(),
            pending: None,
        },
        health: switchback::model::ServingHealth {
            degraded,
            down: cfg
                .sites
                .keys()
                .filter(|s| !up.contains(&s.as_str()))
                .cloned()
                .collect(),
        },
    };
    Desired::of(&cfg.services[0], &cfg.sites, &record)
}

/// Runs a DNS tool (`dig`/`kdig`) against `addr` with `args`; returns stdout.
pub(crate) async fn tool(tool: &Path, addr: SocketAddr, args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(tool);
    cmd.arg(format!("@{}", addr.ip()))
        .arg("-p")
        .arg(addr.port().to_string())
        .args(if tool.ends_with("kdig") {
            ["+timeout=2", "+retry=0"]
        } else {
            ["+time=2", "+tries=1"]
        })
        .args(args);
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("tool finished within 20 s")
        .expect("tool ran");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dig` with the given arguments (None when dig is missing and skipping is allowed).
pub(crate) async fn dig(addr: SocketAddr, args: &[&str]) -> Option<String> {
    let dig = require("dig")?;
    Some(tool(&dig, addr, args).await)
}

/// The `status:` of a dig answer (NOERROR, NXDOMAIN, ...).
pub(crate) fn status(out: &str) -> String {
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("NONE")
        .to_owned()
}

/// The flags line of a dig answer, e.g. "qr aa rd".
pub(crate) fn flags(out: &str) -> String {
    out.split(";; flags: ")
        .nth(1)
        .or_else(|| out.split(";; Flags: ").nth(1))
        .and_then(|s| s.split(';').next())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Lines of the ANSWER (or AUTHORITY) section of a dig answer, whitespace-normalised.
pub(crate) fn section(out: &str, name: &str) -> Vec<String> {
    let header = format!(";; {name} SECTION:");
    let Some(start) = out.find(&header) else {
        return vec![];
    };
    out[start + header.len()..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}
