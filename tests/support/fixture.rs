//! Small in-memory configs and observations for lib unit tests, integration tests, benches and
//! examples: one copy, included with `#[path = "…"] mod fixture;` wherever it is needed.
//!
//! Sites `bj` (primary) and `sh` (backup), loopback addresses, one policy shared by every service.
//! It names the library `switchback`; the lib, which includes it under `cfg(test)`, aliases
//! itself to that name.

// Each including target uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchback::config::{
    AdminSection, AllDown, Config, ConfirmTimeout, DnsSection, Failback, LogFormat, LogSection,
    Mode, NodeSection, Policy, Role, Service, Site, SiteRole, StoreSection, Voter, VotesSection,
};
use switchback::model::{
    CheckName, DomainId, Health, NodeId, Observation, ServiceId, SiteId, SiteView, Timestamp,
};

/// The default test policy: auto, quorum 2 of 2 domains, hold-down 300 ms, manual failback after 10 min.
pub(crate) fn policy() -> Policy {
    Policy {
        mode: Mode::Auto,
        quorum: 2,
        min_domains: 2,
        hold_down: Duration::from_millis(300),
        confirm_timeout: Duration::from_secs(60),
        on_confirm_timeout: ConfirmTimeout::Abort,
        failback: Failback::Manual,
        failback_hold: Duration::from_secs(600),
        hold_out_recovered: false,
        gates: Vec::new(),
        all_down: AllDown::Keep,
        damping: switchback::config::presets::standard().policy.damping,
    }
}

/// `n` voters `p0..` spread round-robin over `domains` domains `d0..`.
pub(crate) fn voters(n: usize, domains: usize) -> Vec<Voter> {
    (0..n)
        .map(|i| Voter {
            id: NodeId(format!("p{i}")),
            domain: DomainId(format!("d{}", i % domains.max(1))),
        })
        .collect()
}

/// A config with sites `bj` (primary) and `sh` (backup), these services (one policy) and voters.
pub(crate) fn config(services: &[&str], voters: Vec<Voter>, policy: Policy) -> Config {
    let names: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
    config_owned(&names, voters, policy)
}

/// Like [`config()`] with owned service names (benches build hundreds).
pub(crate) fn config_owned(services: &[String], voters: Vec<Voter>, policy: Policy) -> Config {
    let site = |id: &str, role| Site {
        id: SiteId::from(id),
        role,
        gateways: Vec::new(),
    };
    let sites: BTreeMap<SiteId, Site> =
        [site("bj", SiteRole::Primary), site("sh", SiteRole::Backup)]
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
    let services = services
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let octet = (i % 250) as u8 + 1;
            service(
                name,
                IpAddr::V4(Ipv4Addr::new(127, 1, 0, octet)),
                IpAddr::V4(Ipv4Addr::new(127, 2, 0, octet)),
                policy.clone(),
            )
        })
        .collect();
    Config {
        audit: Default::default(),
        source: PathBuf::from("fixture.toml"),
        node: NodeSection {
            id: NodeId::from("auth-1"),
            site: SiteId::from("bj"),
            domain: DomainId::from("bj"),
            roles: vec![Role::Authority],
            state_dir: PathBuf::from("/nonexistent/state"),
        },
        store: StoreSection::Embedded,
        votes: VotesSection {
            authorities: Vec::new(),
            key_files: Vec::new(),
            stale_after: Duration::from_secs(1),
            voters,
        },
        log: LogSection {
            format: LogFormat::Text,
            level: "info".to_owned(),
        },
        dns: DnsSection {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5353))],
            zones: Vec::new(),
            notify: Vec::new(),
            allow_transfer: Vec::new(),
            tsig_keys: Vec::new(),
            notify_key: None,
            udp_sockets: 1,
            notify_interval: Duration::ZERO,
        },
        admin: AdminSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 9530)),
            token_file: None,
        },
        sites,
        services,
        alerts: Vec::new(),
        route: Default::default(),
    }
}

/// Service `name` answered at `name.boss.example.` (TTL 30 s, degraded 5 s) with one address
/// per site.
pub(crate) fn service(name: &str, bj: IpAddr, sh: IpAddr, policy: Policy) -> Service {
    Service {
        name: ServiceId::from(name),
        names: vec![format!("{name}.boss.example.")],
        ttl: Duration::from_secs(30),
        degraded_ttl: Duration::from_secs(5),
        addresses: BTreeMap::from([
            (SiteId::from("bj"), vec![bj]),
            (SiteId::from("sh"), vec![sh]),
        ]),
        vip: None,
        probes: PathBuf::from(format!("probes/{name}.toml")),
        policy,
    }
}

/// An authority serving `zone` with `services` on 127.0.0.1 port 0 (one UDP socket), its
/// state in `state_dir`, transfers allowed to loopback: the DNS tests' and benches' node.
pub(crate) fn dns_config(zone: &Path, state_dir: &Path, services: Vec<Service>) -> Config {
    let mut c = config_owned(&[], Vec::new(), policy());
    c.source = state_dir.join("switchback.toml");
    c.node.state_dir = state_dir.to_owned();
    c.dns.listen = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
    c.dns.zones = vec![zone.to_owned()];
    c.dns.allow_transfer = vec!["127.0.0.1/32".parse().expect("static net")];
    c.admin.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.services = services;
    c
}

/// One site's layers as a probe sees them.
pub(crate) fn view(app: Health, host: Health, link: Health) -> SiteView {
    SiteView {
        app,
        host,
        link,
        ..SiteView::default()
    }
}

/// An observation from `node` in `domain`, number `seq`, built at `at` ms: self-check passing,
/// nothing seen yet. Add what it saw with [`Obs`]'s methods, then [`Obs::build`].
pub(crate) fn obs(node: &str, domain: &str, seq: u64, at: u64) -> Obs {
    Obs(Observation {
        node: NodeId::from(node),
        domain: DomainId::from(domain),
        seq,
        at: Timestamp(at),
        self_ok: true,
        self_detail: None,
        sites: BTreeMap::new(),
        services: BTreeMap::new(),
        gates: BTreeMap::new(),
    })
}

/// Like [`obs`], from a configured voter.
pub(crate) fn obs_of(v: &Voter, seq: u64, at: u64) -> Obs {
    obs(v.id.as_str(), v.domain.as_str(), seq, at)
}

/// An [`Observation`] under construction.
#[derive(Clone, Debug)]
pub(crate) struct Obs(Observation);

impl Obs {
    /// What it sees of `site`, per layer.
    pub(crate) fn site(mut self, site: &str, view: SiteView) -> Obs {
        self.0.sites.insert(SiteId::from(site), view);
        self
    }

    /// The app verdict of `service`'s own checks at `site`.
    pub(crate) fn service(mut self, service: &str, site: &str, health: Health) -> Obs {
        self.0
            .services
            .entry(ServiceId::from(service))
            .or_default()
            .insert(SiteId::from(site), health);
        self
    }

    /// The readiness gate `check` at `site`.
    pub(crate) fn gate(mut self, site: &str, check: &str, health: Health) -> Obs {
        self.0
            .gates
            .entry(SiteId::from(site))
            .or_default()
            .insert(CheckName::from(check), health);
        self
    }

    /// Its own uplink check fails (`detail` says why): it abstains.
    pub(crate) fn abstain(mut self, detail: &str) -> Obs {
        self.0.self_ok = false;
        self.0.self_detail = Some(detail.to_owned());
        self
    }

    /// The observation.
    pub(crate) fn build(self) -> Observation {
        self.0
    }
}
