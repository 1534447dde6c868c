//! The second pass: raw schema → typed [`Config`], collecting every problem with its key.
//!
//! Node-wide sections live here; sites and services in `validate_service`, policies in
//! `validate_policy`, alert sinks in `validate_alert`.
//! Invalid values are replaced by placeholders so checking can go on; the caller discards the
//! result when any problem was recorded.

use super::ctx::{Ctx, duration, ident, join};
use super::etcd::RawStore;
use super::raw::{RawAdmin, RawConfig, RawDns, RawLog, RawNode, RawVotes};
use super::validate_service;
use super::values;
use super::{
    AdminSection, Config, DnsSection, LogFormat, LogSection, NodeSection, Role, StoreSection,
    TsigKey, Voter, VotesSection,
};
use crate::model::{DomainId, NodeId, SiteId};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// TSIG algorithms hickory can verify.
const TSIG_ALGORITHMS: &[&str] = &["hmac-sha256", "hmac-sha384", "hmac-sha512"];

/// Validates every section of `raw`, recording problems in `ctx`.
pub(crate) fn config(raw: RawConfig, ctx: &mut Ctx<'_>) -> Config {
    let sites = validate_service::sites(&raw.sites, ctx);
    let node = node(raw.node, ctx, &sites);
    let votes = votes(raw.votes, ctx, &node);
    let services = validate_service::services(raw.service, ctx, &sites, &votes, &node);
    let alerts = super::validate_alert::alerts(raw.alert, ctx, &services);
    super::vip::overlaps(ctx, &services);
    Config {
        source: ctx.file.clone(),
        store: store(raw.store, ctx),
        log: log(raw.log, ctx),
        dns: dns(raw.dns, ctx, &node),
        admin: admin(raw.admin, ctx),
        node,
        votes,
        sites,
        services,
        alerts,
        audit: super::audit::section(raw.audit, ctx),
        route: super::vip::route(raw.route, ctx),
    }
}

fn node(
    raw: RawNode,
    ctx: &mut Ctx<'_>,
    sites: &std::collections::BTreeMap<SiteId, super::Site>,
) -> NodeSection {
    let id = ident(ctx, "node.id", raw.id.as_deref());
    let site = ident(ctx, "node.site", raw.site.as_deref());
    if !site.is_empty() && !sites.is_empty() && !sites.contains_key(&SiteId(site.clone())) {
        let known = join(sites.keys());
        ctx.conflict(
            "node.site",
            format!("unknown site `{site}`; [sites] defines: {known}"),
        );
    }
    let domain = match raw.domain {
        Some(d) => ident(ctx, "node.domain", Some(&d)),
        None => site.clone(),
    };
    let mut roles = Vec::new();
    if raw.roles.is_empty() {
        ctx.bad("node.roles", "empty: give \"probe\", \"authority\" or both");
    }
    for (i, r) in raw.roles.iter().enumerate() {
        let key = format!("node.roles[{i}]");
        let role = match r.trim() {
            "probe" => Role::Probe,
            "authority" => Role::Authority,
            other => {
                ctx.bad(
                    &key,
                    format!("unknown role {other:?}; known: probe, authority"),
                );
                continue;
            }
        };
        if roles.contains(&role) {
            ctx.bad(&key, format!("role {r:?} given twice"));
        } else {
            roles.push(role);
        }
    }
    NodeSection {
        id: NodeId(id),
        site: SiteId(site),
        domain: DomainId(domain),
        roles,
        state_dir: values::path(&ctx.base, &raw.state_dir),
    }
}

fn store(raw: RawStore, ctx: &mut Ctx<'_>) -> StoreSection {
    match raw.kind.trim() {
        "embedded" => {
            if !raw.endpoints.is_empty() {
                ctx.conflict(
                    "store.endpoints",
                    "only used with kind = \"etcd\" (this store is embedded)",
                );
            }
            super::etcd::refuse_on_embedded(&raw, ctx);
            StoreSection::Embedded
        }
        "etcd" => {
            if raw.endpoints.is_empty() {
                ctx.conflict("store.endpoints", "store kind \"etcd\" needs endpoints");
            }
            let mut endpoints = Vec::new();
            for (i, e) in raw.endpoints.iter().enumerate() {
                if let Some(u) = ctx.parse(&format!("store.endpoints[{i}]"), values::url(e)) {
                    endpoints.push(u);
                }
            }
            if raw.prefix.trim().is_empty() {
                ctx.bad("store.prefix", "empty");
            }
            let lease_ttl = duration(ctx, "store.lease_ttl", &raw.lease_ttl);
            if lease_ttl.is_zero() && values::duration(&raw.lease_ttl).is_ok() {
                ctx.bad("store.lease_ttl", "must be above zero");
            } else if !lease_ttl.is_zero() && lease_ttl < Duration::from_secs(1) {
                ctx.bad(
                    "store.lease_ttl",
                    "etcd leases are whole seconds: at least \"1s\"",
                );
            }
            let options = super::etcd::options(&raw, ctx, lease_ttl);
            StoreSection::Etcd {
                endpoints,
                prefix: raw.prefix,
                lease_ttl,
                options,
            }
        }
        other => {
            ctx.bad(
                "store.kind",
                format!("unknown store kind {other:?}; known: embedded, etcd"),
            );
            StoreSection::Embedded
        }
    }
}

fn votes(raw: RawVotes, ctx: &mut Ctx<'_>, node: &NodeSection) -> VotesSection {
    let mut authorities = Vec::new();
    for (i, a) in raw.authorities.iter().enumerate() {
        if let Some(u) = ctx.parse(&format!("votes.authorities[{i}]"), values::url(a)) {
            authorities.push(u);
        }
    }
    let key_files = raw
        .key_files
        .iter()
        .map(|f| values::path(&ctx.base, f))
        .collect();
    let stale_after = duration(ctx, "votes.stale_after", &raw.stale_after);
    if stale_after.is_zero() && values::duration(&raw.stale_after).is_ok() {
        ctx.bad("votes.stale_after", "must be above zero");
    }
    let mut voters: Vec<Voter> = Vec::new();
    for (i, v) in raw.voters.iter().enumerate() {
        let id = ident(ctx, &format!("votes.voters[{i}].id"), v.id.as_deref());
        let domain = ident(
            ctx,
            &format!("votes.voters[{i}].domain"),
            v.domain.as_deref(),
        );
        if !id.is_empty() && voters.iter().any(|o| o.id.0 == id) {
            ctx.conflict(
                &format!("votes.voters[{i}].id"),
                format!("voter `{id}` listed twice"),
            );
        }
        voters.push(Voter {
            id: NodeId(id),
            domain: DomainId(domain),
        });
    }
    // Observations from other nodes travel over the network and must be signed.
    if voters.iter().any(|v| v.id != node.id) && raw.key_files.is_empty() {
        ctx.conflict(
            "votes.key_files",
            "other nodes vote, so observations are signed: give at least one key file",
        );
    }
    // No voters listed: this node alone votes (a single-node setup). Filling it in here keeps
    // the typed config self-describing, so the tally and verifier need no special case.
    if voters.is_empty() {
        voters.push(Voter {
            id: node.id.clone(),
            domain: node.domain.clone(),
        });
    }
    VotesSection {
        authorities,
        key_files,
        stale_after,
        voters,
    }
}

fn log(raw: RawLog, ctx: &mut Ctx<'_>) -> LogSection {
    let format = match raw.format.trim() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            ctx.bad(
                "log.format",
                format!("unknown log format {other:?}; known: text, json"),
            );
            LogFormat::Text
        }
    };
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&raw.level) {
        ctx.bad("log.level", format!("bad filter {:?}: {e}", raw.level));
    }
    LogSection {
        format,
        level: raw.level,
    }
}

fn dns(raw: RawDns, ctx: &mut Ctx<'_>, node: &NodeSection) -> DnsSection {
    let mut listen = Vec::new();
    for (i, l) in raw.listen.iter().enumerate() {
        if let Some(a) = ctx.parse(&format!("dns.listen[{i}]"), values::socket(l)) {
            listen.push(a);
        }
    }
    if raw.listen.is_empty() && node.roles.contains(&Role::Authority) {
        ctx.conflict("dns.listen", "empty, but this node has the authority role");
    }
    let zones = raw
        .zones
        .iter()
        .map(|z| values::path(&ctx.base, z))
        .collect();
    let mut notify = Vec::new();
    for (i, n) in raw.notify.iter().enumerate() {
        if let Some(a) = ctx.parse(&format!("dns.notify[{i}]"), values::socket(n)) {
            notify.push(a);
        }
    }
    let mut allow_transfer = Vec::new();
    for (i, n) in raw.allow_transfer.iter().enumerate() {
        if let Some(a) = ctx.parse(&format!("dns.allow_transfer[{i}]"), values::net(n)) {
            allow_transfer.push(a);
        }
    }
    let mut tsig_keys = Vec::new();
    let mut names = BTreeSet::new();
    for (i, k) in raw.tsig_keys.iter().enumerate() {
        let key = format!("dns.tsig_keys[{i}]");
        let name = match &k.name {
            None => {
                ctx.missing(&format!("{key}.name"));
                String::new()
            }
            Some(n) => ctx
                .parse(&format!("{key}.name"), values::dns_name(n))
                .unwrap_or_default(),
        };
        if !name.is_empty() && !names.insert(name.clone()) {
            ctx.conflict(
                &format!("{key}.name"),
                format!("TSIG key `{name}` given twice"),
            );
        }
        let algorithm = k.algorithm.clone().unwrap_or_else(|| "hmac-sha256".into());
        if !TSIG_ALGORITHMS.contains(&algorithm.as_str()) {
            ctx.bad(
                &format!("{key}.algorithm"),
                format!(
                    "unknown TSIG algorithm {algorithm:?}; known: {}",
                    TSIG_ALGORITHMS.join(", ")
                ),
            );
        }
        let secret_file = match &k.secret_file {
            None => {
                ctx.missing(&format!("{key}.secret_file"));
                Default::default()
            }
            Some(f) => values::path(&ctx.base, f),
        };
        tsig_keys.push(TsigKey {
            name,
            algorithm,
            secret_file,
        });
    }
    let notify_key = notify_key(
        raw.notify_key.as_deref(),
        &tsig_keys,
        !notify.is_empty(),
        ctx,
    );
    let udp_sockets = raw.udp_sockets.0;
    if udp_sockets == 0 || udp_sockets > 64 {
        ctx.bad(
            "dns.udp_sockets",
            format!("{udp_sockets} is out of range 1..=64"),
        );
    }
    let notify_interval = super::ctx::duration(ctx, "dns.notify_interval", &raw.notify_interval);
    DnsSection {
        listen,
        zones,
        notify,
        allow_transfer,
        tsig_keys,
        notify_key,
        udp_sockets: udp_sockets.clamp(1, 64),
        notify_interval,
    }
}

/// The key NOTIFYs are signed with: the one named, else the only one configured.
fn notify_key(
    named: Option<&str>,
    keys: &[TsigKey],
    notifying: bool,
    ctx: &mut Ctx<'_>,
) -> Option<String> {
    let Some(named) = named else {
        if keys.len() > 1 && notifying {
            ctx.conflict(
                "dns.notify_key",
                "missing: several dns.tsig_keys are configured; name the one NOTIFYs are signed with",
            );
        }
        return (keys.len() == 1).then(|| keys[0].name.clone());
    };
    let name = ctx.parse("dns.notify_key", values::dns_name(named))?;
    if !keys.iter().any(|k| k.name == name) {
        let known: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        ctx.bad(
            "dns.notify_key",
            format!(
                "no TSIG key `{name}` in dns.tsig_keys (known: {})",
                known.join(", ")
            ),
        );
        return None;
    }
    Some(name)
}

fn admin(raw: RawAdmin, ctx: &mut Ctx<'_>) -> AdminSection {
    let listen = ctx
        .parse("admin.listen", values::socket(&raw.listen))
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9530));
    AdminSection {
        listen,
        token_file: raw.token_file.map(|f| values::path(&ctx.base, &f)),
    }
}
