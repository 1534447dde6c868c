//! Cross-references between the config, its probes files and its zones. Pure: works on parsed
//! data, so it is tested without the parsers.

use super::facts::{ProbesFacts, ZoneFacts};
use crate::config::{Config, ConfigError, Ctx, Origin, Role, SiteRole, in_zone, join};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Runs every cross-reference rule, recording problems in `ctx`.
pub(super) fn check(
    config: &Config,
    probes: &BTreeMap<PathBuf, ProbesFacts>,
    zones: &[ZoneFacts],
    ctx: &mut Ctx<'_>,
) {
    zone_coverage(config, zones, ctx);
    probe_sites(config, probes, ctx);
    gates(config, probes, ctx);
}
/// On an authority: every service name inside some zone, and none a static record there.
fn zone_coverage(config: &Config, zones: &[ZoneFacts], ctx: &mut Ctx<'_>) {
    for z in zones.iter().filter(|z| z.origin.is_empty()) {
        ctx.other(ConfigError::InReferencedFile {
            at: Origin::file(&z.path, None),
            key: "(zone)".into(),
            problem: "no origin: cannot tell which names this zone serves".into(),
        });
    }
    // A probe-only node serves no names; with zones missing or unreadable, their own errors
    // say enough.
    if !config.has_role(Role::Authority) || config.dns.zones.len() != zones.len() {
        return;
    }
    let origins: Vec<&str> = zones.iter().map(|z| z.origin.as_str()).collect();
    for (i, s) in config.services.iter().enumerate() {
        for (j, name) in s.names.iter().enumerate() {
            let key = format!("service[{i}].names[{j}]");
            if !origins.iter().any(|o| !o.is_empty() && in_zone(name, o)) {
                ctx.conflict(
                    &key,
                    format!(
                        "`{name}` is outside every zone ({})",
                        if origins.is_empty() {
                            "dns.zones is empty".to_owned()
                        } else {
                            origins.join(", ")
                        }
                    ),
                );
            }
            for z in zones.iter().filter(|z| z.owners.contains(name)) {
                ctx.conflict(
                    &key,
                    format!(
                        "`{name}` is a static record in {}; a service name must not be",
                        z.path.display()
                    ),
                );
            }
        }
    }
}

/// Every check measures a site of this config (or is a self-check). Check names are scoped
/// per file and site (each service's file has its own `replication-lag`), so the same name in
/// two files is fine; uniqueness inside a file is the probes loader's rule.
fn probe_sites(config: &Config, probes: &BTreeMap<PathBuf, ProbesFacts>, ctx: &mut Ctx<'_>) {
    for f in probes.values() {
        for (k, c) in f.checks.iter().enumerate() {
            if let Some(site) = &c.site
                && !config.sites.contains_key(site)
            {
                ctx.other(ConfigError::InReferencedFile {
                    at: Origin::file(&f.path, Some(c.line)),
                    key: format!("check[{k}].site"),
                    problem: format!(
                        "unknown site `{site}`; {} defines: {}",
                        ctx.file.display(),
                        join(config.sites.keys())
                    ),
                });
            }
        }
    }
}

/// Each gate is a check of the service's probes file for every backup site it can switch to.
fn gates(config: &Config, probes: &BTreeMap<PathBuf, ProbesFacts>, ctx: &mut Ctx<'_>) {
    for (i, s) in config.services.iter().enumerate() {
        let Some(file) = probes.get(&s.probes) else {
            continue;
        };
        let targets = s.addresses.keys().filter(|site| {
            config
                .sites
                .get(*site)
                .is_some_and(|x| x.role == SiteRole::Backup)
        });
        for (g, gate) in s.policy.gates.iter().enumerate() {
            for target in targets.clone() {
                let defined = file
                    .checks
                    .iter()
                    .any(|c| &c.name == gate && c.site.as_ref() == Some(target));
                if !defined {
                    ctx.conflict(
                        &format!("service[{i}].policy.gates[{g}]"),
                        format!(
                            "gate `{gate}` is not a check for target site `{target}` in {}",
                            s.probes.display()
                        ),
                    );
                }
            }
        }
    }
}
