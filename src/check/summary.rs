//! The one-screen summary `switchback check` prints when all is well: sites and roles,
//! services (names, sites, VIP, mode, quorum), who probes what, voters and their domains;
//! then one `warning:` line per configured part this build does not act on.

use super::CheckSummary;
use crate::config::{AlertSink, Config, Mode, Role, SinkKind, StoreSection, join};
use crate::model::Layer;
use std::collections::BTreeMap;
use std::fmt;

impl fmt::Display for CheckSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(f, "{}: OK", c.source.display())?;
        if !self.read_as.is_empty() {
            writeln!(
                f,
                "secrets:  read as {} (serve must run as a user that can)",
                self.read_as
            )?;
        }
        node(f, c)?;
        let sites: Vec<String> = c
            .sites
            .values()
            .map(|s| {
                let role = format!("{:?}", s.role).to_lowercase();
                if s.gateways.is_empty() {
                    format!("{} {role}", s.id)
                } else {
                    format!("{} {role} (gw {})", s.id, join(&s.gateways))
                }
            })
            .collect();
        writeln!(f, "sites:    {}", sites.join("; "))?;
        let voters: Vec<String> = c
            .votes
            .voters
            .iter()
            .map(|v| format!("{}@{}", v.id, v.domain))
            .collect();
        if c.votes.voters.len() == 1 && c.votes.voters[0].id == c.node.id {
            writeln!(
                f,
                "voters:   this node alone ({}@{})",
                c.node.id, c.node.domain
            )?;
        } else {
            writeln!(f, "voters:   {} ({})", voters.len(), voters.join(", "))?;
        }
        let zones: Vec<String> = self
            .zones
            .iter()
            .map(|z| format!("{} ({} static names)", z.origin, z.owners.len()))
            .collect();
        writeln!(
            f,
            "dns:      listen {}; zones {}",
            join(&c.dns.listen),
            join(zones)
        )?;
        writeln!(f, "services:")?;
        for s in &c.services {
            let addrs: Vec<String> = s
                .addresses
                .iter()
                .map(|(site, a)| format!("{site} {}", join(a)))
                .collect();
            let vip = s
                .vip
                .as_ref()
                .map(|v| format!(" vip {}", v.prefix()))
                .unwrap_or_default();
            let p = &s.policy;
            let mode = match p.mode {
                Mode::Auto => "auto",
                Mode::Confirm => "confirm",
                Mode::Manual => "manual",
            };
            let gates = if p.gates.is_empty() {
                String::new()
            } else {
                format!(", gates {}", join(&p.gates))
            };
            writeln!(
                f,
                "  {:<12} {} -> {}{vip}",
                s.name.as_str(),
                s.names.join(" "),
                addrs.join(" | ")
            )?;
            writeln!(
                f,
                "  {:<12} {mode}, quorum {} from {} domain(s), hold_down {}, ttl {}/{}{gates}",
                "",
                p.quorum,
                p.min_domains,
                humantime::format_duration(p.hold_down),
                s.ttl.as_secs(),
                s.degraded_ttl.as_secs()
            )?;
        }
        writeln!(f, "probes (checks per site: app/host/link):")?;
        for s in &c.services {
            let Some(file) = self.probes.get(&s.probes) else {
                continue;
            };
            let mut per: BTreeMap<String, [usize; 3]> = BTreeMap::new();
            for check in &file.checks {
                let site = check
                    .site
                    .as_ref()
                    .map_or_else(|| "self".to_owned(), |x| x.to_string());
                let i = match check.layer {
                    Layer::App => 0,
                    Layer::Host => 1,
                    Layer::Link => 2,
                };
                per.entry(site).or_default()[i] += 1;
            }
            let counts: Vec<String> = per
                .iter()
                .map(|(site, [a, h, l])| format!("{site} {a}/{h}/{l}"))
                .collect();
            writeln!(
                f,
                "  {:<12} {}: {}",
                s.name.as_str(),
                relative(c, &s.probes).display(),
                join(counts)
            )?;
        }
        let alerts: Vec<String> = c.alerts.iter().map(sink).collect();
        writeln!(f, "alerts:   {}", join(alerts))?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// An alert sink in a few words: `webhook URL`, `pagerduty`, `exec PROGRAM`.
pub(super) fn sink(a: &AlertSink) -> String {
    let what = match &a.kind {
        SinkKind::Webhook { url, .. } => format!("webhook {url}"),
        SinkKind::Alertmanager { url } => format!("alertmanager {url}"),
        SinkKind::Pagerduty { .. } => "pagerduty".to_owned(),
        SinkKind::Exec { command } => {
            format!("exec {}", command.first().map_or("", String::as_str))
        }
    };
    format!("{} ({what})", a.name)
}

fn node(f: &mut fmt::Formatter<'_>, c: &Config) -> fmt::Result {
    let roles: Vec<&str> = c
        .node
        .roles
        .iter()
        .map(|r| match r {
            Role::Probe => "probe",
            Role::Authority => "authority",
        })
        .collect();
    let store = match &c.store {
        StoreSection::Embedded => "embedded".to_owned(),
        StoreSection::Etcd { endpoints, .. } => format!("etcd ({} endpoints)", endpoints.len()),
    };
    writeln!(
        f,
        "node:     {} at {} (domain {}), roles {}, store {store}, admin {}",
        c.node.id,
        c.node.site,
        c.node.domain,
        roles.join("+"),
        c.admin.listen
    )
}

/// `path` as written relative to the config's folder, when it is below it.
fn relative<'a>(c: &Config, path: &'a std::path::Path) -> &'a std::path::Path {
    c.source
        .parent()
        .and_then(|dir| path.strip_prefix(dir).ok())
        .unwrap_or(path)
}
