//! `switchback check`: the same loader as `serve`, plus every file the config refers to
//! (probes files, zone files, key files) and the cross-references between them.
//!
//! Stops before binding anything: nothing here opens a socket.

use super::ctx::Ctx;
use super::error::{ConfigError, Origin};
use super::facts::{ProbesFacts, ZoneFacts};
use super::load::{load, process_env};
use super::locate::Locator;
use super::values::in_zone;
use super::{Config, Role, SiteRole};
use crate::dns::zonefile;
use crate::probe::defs;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// A config that passed every check, with what it refers to, for the one-screen summary.
#[derive(Clone, Debug)]
pub struct CheckSummary {
    /// The validated config.
    pub config: Config,
    /// Each service's probes file (what cross-references use), by resolved path.
    pub probes: BTreeMap<PathBuf, ProbesFacts>,
    /// The zone files (what cross-references use), in config order.
    pub zones: Vec<ZoneFacts>,
}

/// Every problem found by `check`, printed one `file:line: key: problem` per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CheckErrors(pub Vec<ConfigError>);

impl fmt::Display for CheckErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Validates the config at `path` (env as for [`load`]) and every file it refers to.
pub fn check(
    path: &Path,
    env: Option<HashMap<String, String>>,
) -> Result<CheckSummary, CheckErrors> {
    let env = env.unwrap_or_else(process_env);
    let config = load(path, Some(env.clone())).map_err(|e| CheckErrors(e.0))?;
    // `load` succeeded, so the text was readable and parses; read it again to locate keys.
    let text = std::fs::read_to_string(path).map_err(|e| {
        CheckErrors(vec![ConfigError::Read {
            at: Origin::file(path, None),
            problem: e.to_string(),
        }])
    })?;
    let locator = Locator::new(&text).map_err(|e| {
        CheckErrors(vec![ConfigError::Syntax {
            at: Origin::file(path, None),
            problem: e.message().to_owned(),
        }])
    })?;
    let mut ctx = Ctx::new(path, &locator, &env);
    files_exist(&config, &mut ctx);
    let probes = probe_files(&config, &mut ctx);
    let zones = zone_files(&config, &mut ctx);
    cross_check(&config, &probes, &zones, &mut ctx);
    if ctx.errors.is_empty() {
        Ok(CheckSummary {
            config,
            probes,
            zones,
        })
    } else {
        Err(CheckErrors(ctx.errors))
    }
}

/// Every referenced file: `(key, path)` in config order.
fn referenced(config: &Config) -> Vec<(String, &Path)> {
    let mut out: Vec<(String, &Path)> = Vec::new();
    for (i, f) in config.votes.key_files.iter().enumerate() {
        out.push((format!("votes.key_files[{i}]"), f));
    }
    for (i, z) in config.dns.zones.iter().enumerate() {
        out.push((format!("dns.zones[{i}]"), z));
    }
    for (i, k) in config.dns.tsig_keys.iter().enumerate() {
        out.push((format!("dns.tsig_keys[{i}].secret_file"), &k.secret_file));
    }
    if let Some(t) = &config.admin.token_file {
        out.push(("admin.token_file".into(), t));
    }
    for (i, s) in config.services.iter().enumerate() {
        out.push((format!("service[{i}].probes"), &s.probes));
    }
    for (i, a) in config.alerts.iter().enumerate() {
        if let super::AlertSink::Pagerduty {
            routing_key_file, ..
        } = a
        {
            out.push((format!("alert[{i}].routing_key_file"), routing_key_file));
        }
    }
    out
}

fn files_exist(config: &Config, ctx: &mut Ctx<'_>) {
    for (key, path) in referenced(config) {
        let problem = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => continue,
            Ok(_) => "not a regular file".to_owned(),
            Err(e) => e.to_string(),
        };
        let at = ctx.at(&key);
        ctx.other(ConfigError::MissingFile {
            at,
            key,
            path: path.to_owned(),
            problem,
        });
    }
}

fn probe_files(config: &Config, ctx: &mut Ctx<'_>) -> BTreeMap<PathBuf, ProbesFacts> {
    let mut out = BTreeMap::new();
    for s in &config.services {
        if out.contains_key(&s.probes) || !s.probes.is_file() {
            continue;
        }
        match defs::load(&s.probes) {
            Ok(f) => {
                out.insert(s.probes.clone(), ProbesFacts::from(&f));
            }
            Err(errors) => {
                for e in errors {
                    ctx.other(ConfigError::InReferencedFile {
                        at: Origin::file(&e.path, (e.line > 0).then_some(e.line)),
                        key: e.key,
                        problem: e.problem,
                    });
                }
            }
        }
    }
    out
}

fn zone_files(config: &Config, ctx: &mut Ctx<'_>) -> Vec<ZoneFacts> {
    let mut out = Vec::new();
    for z in &config.dns.zones {
        if !z.is_file() {
            continue;
        }
        match zonefile::load(z) {
            Ok(f) => out.push(ZoneFacts::from(&f)),
            Err(e) => ctx.other(ConfigError::InReferencedFile {
                at: Origin::file(&e.path, (e.line > 0).then_some(e.line)),
                key: "(zone)".into(),
                problem: e.problem,
            }),
        }
    }
    out
}

/// Cross-references between the config, its probes files and its zones. Pure: works on parsed
/// data, so it is tested without the parsers.
pub(crate) fn cross_check(
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
                        super::validate::join(config.sites.keys())
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
