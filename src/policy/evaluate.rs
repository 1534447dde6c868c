//! Per-site verdicts for one service from the counting votes, and the words that explain them.
//!
//! # Which layers count
//! For a service at a site, one probe's vote is:
//! - **down at once** when the layers corroborate: the site is `cut` (every link check is an
//!   interface whose carrier is gone: nothing there can answer, whatever the app said last)
//!   or `silent` (its app and host checks all timed out `silence` times in a row: a black
//!   hole, where loss would leave one of them answering now and then);
//! - **down** when the service's own app verdict there is down, or when it has no app verdict
//!   (unknown) and the host or link layer is down (a dead server or a cut path);
//! - **up** when the service's app verdict there is up (the service answers: a filtered ICMP
//!   or a lossy gateway does not outvote a working service);
//! - **unknown** otherwise.
//!
//! The site's verdict is Down when a quorum of such down votes from `min_domains` domains agree,
//! else Up when a quorum of up votes does, else Unknown (see [`Count::verdict`]).

use crate::config::{Policy, Site, SiteRole};
use crate::model::{CheckName, Health, Observation, ServiceId, SiteId, Timestamp};
use crate::tally::{Count, Tally};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the rest of the engine needs to evaluate one service at one instant.
pub(crate) struct World<'a> {
    /// The verified votes.
    pub(crate) tally: &'a Tally,
    /// The instant of evaluation.
    pub(crate) now: Timestamp,
    /// Sites by id.
    pub(crate) sites: &'a BTreeMap<SiteId, Site>,
    /// The primary site.
    pub(crate) primary: &'a SiteId,
}

/// One probe's vote about a service at a site, per the module rule.
pub(crate) fn vote(obs: &Observation, service: &ServiceId, site: &SiteId) -> Health {
    if obs.sites.get(site).is_some_and(|v| v.cut || v.silent) {
        return Health::Down;
    }
    let app = app_vote(obs, service, site);
    match app {
        Health::Up | Health::Down => app,
        Health::Unknown => match obs.sites.get(site) {
            Some(v) if v.host == Health::Down || v.link == Health::Down => Health::Down,
            _ => Health::Unknown,
        },
    }
}

/// The service's own app verdict at a site from one probe.
fn app_vote(obs: &Observation, service: &ServiceId, site: &SiteId) -> Health {
    obs.services
        .get(service)
        .and_then(|m| m.get(site))
        .copied()
        .unwrap_or_default()
}

/// Votes about one site of one service, combined and per layer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SiteEval {
    /// The combined votes (the module rule).
    pub(crate) combined: Count,
    /// The service's app verdicts.
    pub(crate) app: Count,
    /// Host layer.
    pub(crate) host: Count,
    /// Link layer.
    pub(crate) link: Count,
    /// Probes that see the site's only paths cut (carrier down).
    pub(crate) cut: u32,
    /// Probes that see the site's app and host silent together.
    pub(crate) silent: u32,
    /// The quorum verdict of `combined`.
    pub(crate) verdict: Health,
}

/// Only the quorum verdict of one site of one service (the hot path of every evaluation).
pub(crate) fn verdict(w: &World<'_>, service: &ServiceId, site: &SiteId, p: &Policy) -> Health {
    w.tally
        .count(w.now, |o| vote(o, service, site))
        .verdict(p.quorum, p.min_domains)
}

/// Evaluate one site of one service at `w.now`, with per-layer counts for reasons and status.
pub(crate) fn eval_site(w: &World<'_>, service: &ServiceId, site: &SiteId, p: &Policy) -> SiteEval {
    let mut e = SiteEval::default();
    for (obs, domain) in w.tally.counting(w.now) {
        e.combined.add(vote(obs, service, site), domain);
        e.app.add(app_vote(obs, service, site), domain);
        let view = obs.sites.get(site);
        e.host.add(view.map(|v| v.host).unwrap_or_default(), domain);
        e.link.add(view.map(|v| v.link).unwrap_or_default(), domain);
        e.cut += u32::from(view.is_some_and(|v| v.cut));
        e.silent += u32::from(view.is_some_and(|v| v.silent));
    }
    e.verdict = e.combined.verdict(p.quorum, p.min_domains);
    e
}

/// The quorum verdict of each readiness gate of a site.
pub(crate) fn eval_gates(
    w: &World<'_>,
    site: &SiteId,
    p: &Policy,
) -> Vec<(CheckName, Count, Health)> {
    p.gates
        .iter()
        .map(|g| {
            let c = w.tally.count(w.now, |o| {
                o.gates
                    .get(site)
                    .and_then(|m| m.get(g))
                    .copied()
                    .unwrap_or_default()
            });
            // A gate passes only on an up quorum that no down quorum contradicts.
            (g.clone(), c, c.verdict(p.quorum, p.min_domains))
        })
        .collect()
}

/// Whether every readiness gate of `site` is up by quorum.
pub(crate) fn gates_ok(w: &World<'_>, site: &SiteId, p: &Policy) -> bool {
    eval_gates(w, site, p)
        .iter()
        .all(|(_, _, h)| *h == Health::Up)
}

/// "app down 3/3" style text for one layer.
fn layer_text(out: &mut String, name: &str, c: &Count) {
    let n = c.total();
    let _ = match (c.down, c.up) {
        (0, 0) => write!(out, "{name} unknown"),
        (d, 0) => write!(out, "{name} down {d}/{n}"),
        (0, u) => write!(out, "{name} up {u}/{n}"),
        (d, u) => write!(out, "{name} down {d}/{n} up {u}/{n}"),
    };
}

/// "bj down: app down 3/3, host up 3/3, link up 3/3 from 3 probes in 2 domains".
pub(crate) fn describe(site: &SiteId, e: &SiteEval) -> String {
    let mut s = format!("{site} {}", e.verdict);
    if e.verdict == Health::Down {
        let by = if e.cut > 0 {
            "definitive link failure (carrier down on its only paths)"
        } else if e.silent > 0 {
            "app and host silent together (black hole)"
        } else if e.app.down > 0 {
            "the app's own checks"
        } else {
            "host or link down, app unknown"
        };
        let _ = write!(s, " by {by}");
    }
    s.push_str(": ");
    layer_text(&mut s, "app", &e.app);
    s.push_str(", ");
    layer_text(&mut s, "host", &e.host);
    s.push_str(", ");
    layer_text(&mut s, "link", &e.link);
    let n = e.combined.total();
    if e.cut > 0 {
        let _ = write!(s, ", path cut (carrier down) {}/{n}", e.cut);
    }
    if e.silent > 0 {
        let _ = write!(s, ", app and host silent {}/{n}", e.silent);
    }
    let domains = match e.verdict {
        Health::Down => e.combined.down_domains.len(),
        _ => e.combined.up_domains.len(),
    };
    let total = e.combined.total();
    let agree = match e.verdict {
        Health::Down => e.combined.down,
        _ => e.combined.up,
    };
    let _ = write!(
        s,
        " from {total} counting {} ({agree} {}) in {domains} {}",
        plural(total, "probe", "probes"),
        plural(agree, "agrees", "agree"),
        plural(domains, "domain", "domains"),
    );
    s
}

/// `one` for exactly one, else `many` (operators read these reasons in pages and the log).
fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// "gates at sh: replication-lag up 3/3" (empty when the service has none).
pub(crate) fn describe_gates(w: &World<'_>, site: &SiteId, p: &Policy) -> String {
    if p.gates.is_empty() {
        return String::new();
    }
    let mut s = format!("gates at {site}:");
    for (g, c, h) in eval_gates(w, site, p) {
        let agree = if h == Health::Down { c.down } else { c.up };
        let _ = write!(s, " {g} {h} {agree}/{}", c.total());
    }
    s
}

/// Role name for status views.
pub(crate) fn role_name(role: SiteRole) -> &'static str {
    match role {
        SiteRole::Primary => "primary",
        SiteRole::Backup => "backup",
        SiteRole::Arbiter => "arbiter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(up: &[usize], verdict: Health) -> SiteEval {
        let mut e = SiteEval::default();
        for &d in up {
            e.combined.add(Health::Up, d);
            e.app.add(Health::Up, d);
        }
        e.verdict = verdict;
        e
    }

    #[test]
    fn one_probe_in_one_domain_reads_in_the_singular() {
        let text = describe(&SiteId::from("sh"), &eval(&[0], Health::Up));
        assert!(
            text.ends_with(" from 1 counting probe (1 agrees) in 1 domain"),
            "{text}"
        );
        let text = describe(&SiteId::from("sh"), &eval(&[0, 1, 1], Health::Up));
        assert!(
            text.ends_with(" from 3 counting probes (3 agree) in 2 domains"),
            "{text}"
        );
    }
}
