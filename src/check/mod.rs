//! `switchback check`: the same loader as `serve`, plus every file the config refers to
//! (probes files, zone files, key files) and the cross-references between them.
//!
//! Stops before binding anything: nothing here opens a socket.
//!
//! - [`check()`] validates a config and what it refers to: [`CheckSummary`] (one screen) or
//!   [`CheckErrors`].
//! - `files`: every referenced file exists; probes and zone files parse, and what the
//!   cross-references need of them is kept as [`ProbesFacts`] and [`ZoneFacts`].
//! - `cross`: the cross-references, pure over parsed data.
//! - `summary`: the one-screen text printed when all is well.
//! - [`inert()`]: the configured parts this build does not act on (alert sinks, VIPs, the
//!   etcd store), which `check` prints as warnings and `serve` logs at start.
//!
//! This sits above `config` so that `config` stays a leaf: the pure cores that load a config
//! do not drag in the probes loader or the zone parser.

mod cross;
mod facts;
mod files;
mod inert;
mod summary;

pub use facts::{CheckFacts, ProbesFacts, ZoneFacts};
pub use inert::{Inert, InertPart, inert};

use crate::config::{Config, ConfigError, Ctx, Locator, Origin, load, process_env};
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
    /// What this build does not act on ([`inert()`]), printed as `warning:` lines.
    pub warnings: Vec<Inert>,
    /// The user the secret files were read as (`serve` must run as one that can read them).
    pub read_as: String,
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
    files::exist(&config, &mut ctx);
    let probes = files::probes(&config, &mut ctx);
    let zones = files::zones(&config, &mut ctx);
    cross::check(&config, &probes, &zones, &mut ctx);
    if ctx.errors.is_empty() {
        let warnings = inert::located(&config, &ctx);
        Ok(CheckSummary {
            config,
            probes,
            zones,
            warnings,
            read_as: files::reader(),
        })
    } else {
        Err(CheckErrors(ctx.errors))
    }
}

#[cfg(test)]
mod tests;

/// Validate the config at `cfg.source` again, as `check` does (a reload): the new config, or
/// `check`'s messages.
pub fn revalidate(cfg: &Config) -> Result<Config, String> {
    check(&cfg.source, None)
        .map(|summary| summary.config)
        .map_err(|e| e.to_string())
}
