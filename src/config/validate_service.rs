//! The second pass for `[sites]` and `[[service]]` (names, TTLs, addresses, VIP).
//! The policy is in `validate_policy`, alert sinks in `validate_alert`.

use super::ctx::Ctx;
use super::ctx::{duration, ident, join};
use super::raw::{RawService, RawSite};
use super::values;
use super::{NodeSection, Service, Site, SiteRole, VotesSection};
use crate::model::{ServiceId, SiteId};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// `[sites.<id>]`: roles known, exactly one primary, at least one backup.
pub(crate) fn sites(raw: &BTreeMap<String, RawSite>, ctx: &mut Ctx<'_>) -> BTreeMap<SiteId, Site> {
    let mut out = BTreeMap::new();
    if raw.is_empty() {
        ctx.missing("sites");
        return out;
    }
    // A missing or unknown role is reported once; the placeholder (backup) provokes no follow-ups.
    let mut roles_ok = true;
    for (id, s) in raw {
        let key = format!("sites.{id}");
        // Site ids appear in key paths and (lower-cased) in env variable names.
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            ctx.bad(
                &key,
                format!("site id {id:?}: use lower-case letters, digits, '-' and '_' only"),
            );
        }
        let role = match s.role.as_deref().map(str::trim) {
            None => {
                ctx.missing(&format!("{key}.role"));
                roles_ok = false;
                SiteRole::Backup
            }
            Some("primary") => SiteRole::Primary,
            Some("backup") => SiteRole::Backup,
            Some("arbiter") => SiteRole::Arbiter,
            Some(other) => {
                ctx.bad(
                    &format!("{key}.role"),
                    format!("unknown role {other:?}; known: primary, backup, arbiter"),
                );
                roles_ok = false;
                SiteRole::Backup
            }
        };
        let mut gateways = Vec::new();
        for (i, g) in s.gateways.iter().enumerate() {
            if let Some(a) = ctx.parse(&format!("{key}.gateways[{i}]"), values::ip(g)) {
                gateways.push(a);
            }
        }
        let id = SiteId(id.clone());
        out.insert(id.clone(), Site { id, role, gateways });
    }
    let primaries: Vec<&SiteId> = by_role(&out, SiteRole::Primary);
    let backups: Vec<&SiteId> = by_role(&out, SiteRole::Backup);
    match primaries.as_slice() {
        [] if roles_ok => ctx.conflict("sites", "no site has role = \"primary\"; exactly one must"),
        [] => {}
        [p] if backups.is_empty() && roles_ok => ctx.conflict(
            &format!("sites.{p}.role"),
            format!("primary `{p}` has no backup: give another site role = \"backup\""),
        ),
        [_] => {}
        [_, rest @ ..] => {
            for p in rest {
                ctx.conflict(
                    &format!("sites.{p}.role"),
                    format!(
                        "more than one primary ({}); exactly one site is primary",
                        join(&primaries)
                    ),
                );
            }
        }
    }
    out
}

fn by_role(sites: &BTreeMap<SiteId, Site>, role: SiteRole) -> Vec<&SiteId> {
    sites
        .values()
        .filter(|s| s.role == role)
        .map(|s| &s.id)
        .collect()
}

/// `[[service]]`: names, addresses per serving site, VIP and policy; duplicates across services.
pub(crate) fn services(
    raw: Vec<RawService>,
    ctx: &mut Ctx<'_>,
    sites: &BTreeMap<SiteId, Site>,
    votes: &VotesSection,
    node: &NodeSection,
) -> Vec<Service> {
    let mut out = Vec::new();
    let mut seen_service: HashMap<String, usize> = HashMap::new();
    let mut seen_name: HashMap<String, String> = HashMap::new();
    for (i, s) in raw.into_iter().enumerate() {
        let key = format!("service[{i}]");
        let name = ident(ctx, &format!("{key}.name"), s.name.as_deref());
        if !name.is_empty() {
            if let Some(first) = seen_service.get(&name) {
                ctx.conflict(
                    &format!("{key}.name"),
                    format!("duplicate service name `{name}` (first at service[{first}])"),
                );
            } else {
                seen_service.insert(name.clone(), i);
            }
        }
        let names = dns_names(ctx, &key, &s.names, &mut seen_name);
        let (ttl, degraded_ttl) = ttls(ctx, &key, &s);
        let addresses = addresses(ctx, &key, &s.addresses, sites);
        let vip = s
            .vip
            .as_ref()
            .map(|v| super::vip::vip(ctx, &format!("{key}.vip"), v, sites, &addresses));
        let probes = match &s.probes {
            Some(p) => values::path(&ctx.base, p),
            None => {
                ctx.missing(&format!("{key}.probes"));
                Default::default()
            }
        };
        let policy =
            super::validate_policy::policy(ctx, &format!("{key}.policy"), &s.policy, votes, node);
        out.push(Service {
            name: ServiceId(name),
            names,
            ttl,
            degraded_ttl,
            addresses,
            vip,
            probes,
            policy,
        });
    }
    out
}

fn dns_names(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &[String],
    seen: &mut HashMap<String, String>,
) -> Vec<String> {
    if raw.is_empty() {
        ctx.missing(&format!("{key}.names"));
    }
    let mut out = Vec::new();
    for (j, n) in raw.iter().enumerate() {
        let nkey = format!("{key}.names[{j}]");
        let Some(name) = ctx.parse(&nkey, values::dns_name(n)) else {
            continue;
        };
        if let Some(first) = seen.get(&name) {
            ctx.conflict(
                &nkey,
                format!("duplicate DNS name `{name}` (first at {first})"),
            );
        } else {
            seen.insert(name.clone(), nkey);
        }
        out.push(name);
    }
    out
}

fn ttls(ctx: &mut Ctx<'_>, key: &str, s: &RawService) -> (Duration, Duration) {
    let tkey = format!("{key}.ttl");
    let dkey = format!("{key}.degraded_ttl");
    let ttl = duration(ctx, &tkey, &s.ttl);
    let degraded = duration(ctx, &dkey, &s.degraded_ttl);
    let ttl_ok = values::duration(&s.ttl).is_ok() && ctx.parse(&tkey, values::ttl(ttl)).is_some();
    let deg_ok = values::duration(&s.degraded_ttl).is_ok()
        && ctx.parse(&dkey, values::ttl(degraded)).is_some();
    if ttl_ok && ttl < Duration::from_secs(1) {
        ctx.bad(&tkey, "at least \"1s\"");
    }
    if ttl_ok && deg_ok && degraded > ttl {
        ctx.conflict(
            &dkey,
            format!(
                "degraded_ttl ({}) above ttl ({}): degraded answers must expire sooner",
                humantime::format_duration(degraded),
                humantime::format_duration(ttl)
            ),
        );
    }
    (ttl, degraded)
}

fn addresses(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &BTreeMap<String, Vec<String>>,
    sites: &BTreeMap<SiteId, Site>,
) -> BTreeMap<SiteId, Vec<std::net::IpAddr>> {
    let akey = format!("{key}.addresses");
    let mut out = BTreeMap::new();
    for (site, addrs) in raw {
        let skey = format!("{akey}.{site}");
        let id = SiteId(site.clone());
        match sites.get(&id) {
            None if !sites.is_empty() => ctx.conflict(
                &skey,
                format!(
                    "unknown site `{site}`; [sites] defines: {}",
                    join(sites.keys())
                ),
            ),
            Some(s) if s.role == SiteRole::Arbiter => ctx.conflict(
                &skey,
                format!("site `{site}` is an arbiter and never serves"),
            ),
            _ => {}
        }
        if addrs.is_empty() {
            ctx.bad(&skey, "empty address list");
        }
        let mut list = Vec::new();
        for (k, a) in addrs.iter().enumerate() {
            if let Some(ip) = ctx.parse(&format!("{skey}[{k}]"), values::ip(a)) {
                list.push(ip);
            }
        }
        out.insert(id, list);
    }
    if raw.is_empty() {
        ctx.missing(&akey);
        return out;
    }
    for s in sites.values() {
        if s.role == SiteRole::Primary && !out.contains_key(&s.id) {
            ctx.conflict(
                &akey,
                format!("no addresses for the primary site `{}`", s.id),
            );
        }
    }
    let backups: Vec<&SiteId> = by_role(sites, SiteRole::Backup);
    if !backups.is_empty() && !backups.iter().any(|b| out.contains_key(*b)) {
        ctx.conflict(
            &akey,
            format!(
                "no addresses for any backup site ({}): nowhere to fail over",
                join(&backups)
            ),
        );
    }
    out
}
