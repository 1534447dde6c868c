//! The second pass for `[sites]`, `[[service]]` (with VIP and policy) and `[[alert]]`.

use super::ctx::Ctx;
use super::raw::{RawAlert, RawPolicy, RawService, RawSite, RawVip, default_pagerduty_url};
use super::validate::{duration, ident, join};
use super::values;
use super::{
    AlertSink, AllDown, ConfirmTimeout, Failback, Mode, NodeSection, Policy, Service, Site,
    SiteRole, Vip, VotesSection,
};
use crate::model::{CheckName, ServiceId, SiteId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// `[sites.<id>]`: roles known, exactly one primary, at least one backup.
pub(crate) fn sites(raw: &BTreeMap<String, RawSite>, ctx: &mut Ctx<'_>) -> BTreeMap<SiteId, Site> {
    let mut out = BTreeMap::new();
    if raw.is_empty() {
        ctx.missing("sites");
        return out;
    }
    for (id, s) in raw {
        let key = format!("sites.{id}");
        ident(ctx, &key, Some(id));
        let role = match s.role.as_deref().map(str::trim) {
            None => {
                ctx.missing(&format!("{key}.role"));
                SiteRole::Arbiter
            }
            Some("primary") => SiteRole::Primary,
            Some("backup") => SiteRole::Backup,
            Some("arbiter") => SiteRole::Arbiter,
            Some(other) => {
                ctx.bad(
                    &format!("{key}.role"),
                    format!("unknown role {other:?}; known: primary, backup, arbiter"),
                );
                SiteRole::Arbiter
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
    let roles_given = raw.values().all(|s| s.role.is_some());
    match primaries.as_slice() {
        [] if roles_given => {
            ctx.conflict("sites", "no site has role = \"primary\"; exactly one must")
        }
        [] => {}
        [p] if backups.is_empty() && roles_given => ctx.conflict(
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
            .map(|v| vip(ctx, &format!("{key}.vip"), v, sites, &addresses));
        let probes = match &s.probes {
            Some(p) => values::path(&ctx.base, p),
            None => {
                ctx.missing(&format!("{key}.probes"));
                Default::default()
            }
        };
        let policy = policy(ctx, &format!("{key}.policy"), &s.policy, votes, node);
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

fn vip(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &RawVip,
    sites: &BTreeMap<SiteId, Site>,
    serving: &BTreeMap<SiteId, Vec<std::net::IpAddr>>,
) -> Vip {
    let prefix = match &raw.prefix {
        None => {
            ctx.missing(&format!("{key}.prefix"));
            None
        }
        Some(p) => ctx.parse(&format!("{key}.prefix"), values::net(p)),
    };
    let mut next_hop = BTreeMap::new();
    for (site, nh) in &raw.next_hop {
        let nkey = format!("{key}.next_hop.{site}");
        if !sites.is_empty() && !sites.contains_key(&SiteId(site.clone())) {
            ctx.conflict(
                &nkey,
                format!(
                    "unknown site `{site}`; [sites] defines: {}",
                    join(sites.keys())
                ),
            );
        }
        let Some(ip) = ctx.parse(&nkey, values::ip(nh)) else {
            continue;
        };
        if let Some(p) = prefix
            && p.addr().is_ipv4() != ip.is_ipv4()
        {
            ctx.conflict(
                &nkey,
                format!("next hop {ip} and prefix {p} are different address families"),
            );
        }
        next_hop.insert(SiteId(site.clone()), ip);
    }
    for site in serving.keys() {
        if !raw.next_hop.contains_key(site.as_str()) {
            ctx.conflict(
                &format!("{key}.next_hop"),
                format!("no next hop for serving site `{site}`"),
            );
        }
    }
    if raw.device.as_deref().is_some_and(|d| d.trim().is_empty()) {
        ctx.bad(&format!("{key}.device"), "empty");
    }
    Vip {
        prefix: prefix.unwrap_or_default(),
        next_hop,
        device: raw.device.clone(),
    }
}

fn policy(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &RawPolicy,
    votes: &VotesSection,
    node: &NodeSection,
) -> Policy {
    let k = |f: &str| format!("{key}.{f}");
    let mode = match raw.mode.trim() {
        "auto" => Mode::Auto,
        "confirm" => Mode::Confirm,
        "manual" => Mode::Manual,
        other => {
            ctx.bad(
                &k("mode"),
                format!("unknown mode {other:?}; known: auto, confirm, manual"),
            );
            Mode::Manual
        }
    };
    let on_confirm_timeout = match raw.on_confirm_timeout.trim() {
        "abort" => ConfirmTimeout::Abort,
        "proceed" => ConfirmTimeout::Proceed,
        other => {
            ctx.bad(
                &k("on_confirm_timeout"),
                format!("unknown value {other:?}; known: abort, proceed"),
            );
            ConfirmTimeout::Abort
        }
    };
    let failback = match raw.failback.trim() {
        "manual" => Failback::Manual,
        "auto" => Failback::Auto,
        other => {
            ctx.bad(
                &k("failback"),
                format!("unknown value {other:?}; known: manual, auto"),
            );
            Failback::Manual
        }
    };
    let all_down = match raw.all_down.trim() {
        "keep" => AllDown::Keep,
        "all" => AllDown::All,
        "none" => AllDown::None,
        other => {
            ctx.bad(
                &k("all_down"),
                format!("unknown value {other:?}; known: keep, all, none"),
            );
            AllDown::Keep
        }
    };
    // Who can vote: the listed voters, or this node alone when none are listed.
    let voters = votes.voters.len().max(1);
    let domains: BTreeSet<&str> = if votes.voters.is_empty() {
        BTreeSet::from([node.domain.as_str()])
    } else {
        votes.voters.iter().map(|v| v.domain.as_str()).collect()
    };
    let quorum = raw.quorum.unwrap_or(voters / 2 + 1);
    if quorum == 0 {
        ctx.bad(&k("quorum"), "must be at least 1");
    } else if quorum > voters {
        ctx.conflict(
            &k("quorum"),
            format!(
                "quorum {quorum} is larger than the {voters} probe(s) that can vote ({})",
                if votes.voters.is_empty() {
                    "votes.voters is empty: this node alone votes".to_owned()
                } else {
                    join(votes.voters.iter().map(|v| &v.id))
                }
            ),
        );
    }
    let min_domains = raw.min_domains.unwrap_or(domains.len().min(2));
    if min_domains == 0 {
        ctx.bad(&k("min_domains"), "must be at least 1");
    } else if min_domains > domains.len() {
        ctx.conflict(
            &k("min_domains"),
            format!(
                "min_domains {min_domains} is larger than the {} distinct failure domain(s) of the voters ({})",
                domains.len(),
                join(&domains)
            ),
        );
    }
    let hold_down = duration(ctx, &k("hold_down"), &raw.hold_down);
    let hold_ok = values::duration(&raw.hold_down).is_ok();
    if hold_ok && hold_down.is_zero() {
        ctx.bad(
            &k("hold_down"),
            "must be above zero: one bad sample must not switch",
        );
    }
    let confirm_timeout = duration(ctx, &k("confirm_timeout"), &raw.confirm_timeout);
    if values::duration(&raw.confirm_timeout).is_ok() && confirm_timeout.is_zero() {
        ctx.bad(&k("confirm_timeout"), "must be above zero");
    }
    let failback_hold = duration(ctx, &k("failback_hold"), &raw.failback_hold);
    if hold_ok && values::duration(&raw.failback_hold).is_ok() && failback_hold < hold_down {
        ctx.conflict(
            &k("failback_hold"),
            format!(
                "failback_hold ({}) shorter than hold_down ({}): failback would be quicker than failover",
                humantime::format_duration(failback_hold),
                humantime::format_duration(hold_down)
            ),
        );
    }
    let mut gates = Vec::new();
    for (g, name) in raw.gates.iter().enumerate() {
        let name = ident(ctx, &format!("{key}.gates[{g}]"), Some(name));
        gates.push(CheckName(name));
    }
    Policy {
        mode,
        quorum,
        min_domains,
        hold_down,
        confirm_timeout,
        on_confirm_timeout,
        failback,
        failback_hold,
        hold_out_recovered: raw.hold_out_recovered,
        gates,
        all_down,
    }
}

/// `[[alert]]`: the keys each kind needs, and no keys it would ignore.
pub(crate) fn alerts(raw: Vec<RawAlert>, ctx: &mut Ctx<'_>) -> Vec<AlertSink> {
    let mut out = Vec::new();
    for (i, a) in raw.into_iter().enumerate() {
        let key = format!("alert[{i}]");
        let url = |ctx: &mut Ctx<'_>, a: &RawAlert| match &a.url {
            None => {
                ctx.missing(&format!("{key}.url"));
                String::new()
            }
            Some(u) => ctx
                .parse(&format!("{key}.url"), values::url(u))
                .unwrap_or_default(),
        };
        let kind = a.kind.as_deref().map(str::trim);
        let (sink, allowed): (Option<AlertSink>, &[&str]) = match kind {
            None => {
                ctx.missing(&format!("{key}.kind"));
                (None, &["url", "routing_key_file", "command"])
            }
            Some("webhook") => (Some(AlertSink::Webhook { url: url(ctx, &a) }), &["url"]),
            Some("alertmanager") => (
                Some(AlertSink::Alertmanager { url: url(ctx, &a) }),
                &["url"],
            ),
            Some("pagerduty") => {
                let routing_key_file = match &a.routing_key_file {
                    Some(f) => values::path(&ctx.base, f),
                    None => {
                        ctx.missing(&format!("{key}.routing_key_file"));
                        Default::default()
                    }
                };
                let url = match &a.url {
                    Some(u) => ctx
                        .parse(&format!("{key}.url"), values::url(u))
                        .unwrap_or_default(),
                    None => default_pagerduty_url(),
                };
                (
                    Some(AlertSink::Pagerduty {
                        routing_key_file,
                        url,
                    }),
                    &["url", "routing_key_file"],
                )
            }
            Some("exec") => {
                let command = a.command.clone().unwrap_or_default();
                if command.is_empty() || command[0].trim().is_empty() {
                    ctx.bad(&format!("{key}.command"), "give the program and its arguments, e.g. [\"/usr/local/bin/page\", \"--json\"]");
                }
                (Some(AlertSink::Exec { command }), &["command"])
            }
            Some(other) => {
                ctx.bad(
                    &format!("{key}.kind"),
                    format!("unknown alert kind {other:?}; known: webhook, alertmanager, pagerduty, exec"),
                );
                (None, &["url", "routing_key_file", "command"])
            }
        };
        for (field, set) in [
            ("url", a.url.is_some()),
            ("routing_key_file", a.routing_key_file.is_some()),
            ("command", a.command.is_some()),
        ] {
            if set && !allowed.contains(&field) {
                ctx.conflict(
                    &format!("{key}.{field}"),
                    format!("not used by kind = {:?}", kind.unwrap_or_default()),
                );
            }
        }
        out.extend(sink);
    }
    out
}
