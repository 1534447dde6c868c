//! What this build parses and validates but does not act on: `store.kind = "etcd"` (no etcd
//! store yet; `serve` refuses it). A section nothing consumes must never be silently ignored, so
//! `check` and `serve` print one warning per such part.

use crate::config::{Config, Ctx, Locator, Origin, StoreSection, process_env};
use std::fmt;

/// One configured part this build does not act on, and where it is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inert {
    /// Where it is configured: its file line, or the env variable that set it.
    pub at: Origin,
    /// Its dotted key: `store.kind`.
    pub key: String,
    /// What it is; says what this build does instead.
    pub part: InertPart,
}

/// A kind of configured part that nothing in this build consumes yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InertPart {
    /// `store.kind = "etcd"` in a build without the `etcd` feature: `serve` refuses the config.
    EtcdStore,
}

impl fmt::Display for InertPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InertPart::EtcdStore => write!(
                f,
                "\"etcd\" is not available in this build (built without feature etcd); \
                 serve will refuse this config"
            ),
        }
    }
}

impl fmt::Display for Inert {
    /// `file:line: key: what`, like a check problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.key, self.part)
    }
}

/// Every configured part of `config` this build does not act on: the store.
///
/// Re-reads `config.source` to locate each part (and the process environment for overrides),
/// as `check` locates its problems; if the file has become unreadable since it was loaded,
/// the parts are still reported, only without their lines.
pub fn inert(config: &Config) -> Vec<Inert> {
    let text = std::fs::read_to_string(&config.source).unwrap_or_default();
    let env = process_env();
    match Locator::new(&text) {
        Ok(locator) => located(config, &Ctx::new(&config.source, &locator, &env)),
        Err(_) => parts(config, |_| Origin::file(&config.source, None)),
    }
}

/// [`inert`] with the locations `ctx` knows (the file and env `check` was given).
pub(super) fn located(config: &Config, ctx: &Ctx<'_>) -> Vec<Inert> {
    parts(config, |key| ctx.at(key))
}

/// The parts, each placed by `at(key)`.
fn parts(config: &Config, at: impl Fn(&str) -> Origin) -> Vec<Inert> {
    let mut out = Vec::new();
    let mut push = |key: String, part: InertPart| {
        out.push(Inert {
            at: at(&key),
            key,
            part,
        });
    };
    // A build with the etcd store acts on it.
    if let StoreSection::Etcd { .. } = config.store
        && cfg!(not(feature = "etcd"))
    {
        push("store.kind".into(), InertPart::EtcdStore);
    }
    out
}
