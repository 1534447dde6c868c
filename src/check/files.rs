//! The files a config refers to: each must exist, and probes and zone files must parse.
//! What the cross-references need of them is copied out into [`super::facts`].

use super::facts::{ProbesFacts, ZoneFacts};
use crate::config::{Config, ConfigError, Ctx, Origin, SinkKind};
use crate::dns::zonefile;
use crate::probe::defs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        match &a.kind {
            SinkKind::Pagerduty {
                routing_key_file, ..
            } => out.push((format!("alert[{i}].routing_key_file"), routing_key_file)),
            SinkKind::Webhook {
                hmac_secret_file: Some(f),
                ..
            } => out.push((format!("alert[{i}].hmac_secret_file"), f)),
            _ => {}
        }
    }
    out
}

/// Whether the file at `key` holds a secret that `serve` reads as text at start.
fn is_secret(key: &str) -> bool {
    key.starts_with("votes.key_files")
        || key.ends_with("secret_file")
        || key == "admin.token_file"
        || key.ends_with("routing_key_file")
}

/// Who this process reads files as: `name (uid N)`.
pub(super) fn reader() -> String {
    let uid = nix::unistd::Uid::effective();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => format!("{} (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    }
}

/// Reports every referenced file that is missing or not a regular file, and every secret
/// file this user cannot read as text the way `serve` will (issue #13: `check` said OK for
/// a token the service user could not read).
pub(super) fn exist(config: &Config, ctx: &mut Ctx<'_>) {
    for (key, path) in referenced(config) {
        let problem = match std::fs::metadata(path) {
            Ok(m) if m.is_file() && !is_secret(&key) => continue,
            Ok(m) if m.is_file() => match std::fs::read_to_string(path) {
                Ok(text) if text.trim().is_empty() => "is empty".to_owned(),
                Ok(_) => continue,
                Err(e) => format!("cannot read as {}: {e}", reader()),
            },
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

/// Each distinct probes file that exists, parsed; its problems are located inside it.
pub(super) fn probes(config: &Config, ctx: &mut Ctx<'_>) -> BTreeMap<PathBuf, ProbesFacts> {
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

/// Each zone file that exists, parsed, in config order; its problems are located inside it.
pub(super) fn zones(config: &Config, ctx: &mut Ctx<'_>) -> Vec<ZoneFacts> {
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
