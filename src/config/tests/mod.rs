//! Unit tests for loading and validation, on temp files and the example configs.
//!
//! The fixtures here ([`MINIMAL`], [`load_text`], …) are shared with `crate::check`'s tests.

mod examples;
mod problems;
mod props;
mod tables;
mod unknown_keys;
mod vip;

use super::{Config, ConfigError, ConfigErrors, load};
use std::collections::HashMap;
use std::path::PathBuf;

/// A small valid single-node config; tests edit it to provoke one problem at a time.
pub(crate) const MINIMAL: &str = r#"[node]
id = "n1"
site = "bj"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = { bj = ["10.1.0.10"], sh = ["10.2.0.10"] }
probes = "probes/crm.toml"
"#;

/// The repository root (for `deploy/` examples).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `text` as `switchback.toml` in a fresh temp dir and loads it with `env`.
pub(crate) fn load_text(
    text: &str,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Result<Config, ConfigErrors>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("switchback.toml");
    std::fs::write(&path, text).expect("write config");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let r = load(&path, Some(env));
    (dir, r)
}

/// The problems of a config expected to be invalid.
pub(super) fn problems(text: &str) -> Vec<ConfigError> {
    problems_env(text, &[])
}

/// The problems of a config expected to be invalid under `env`.
pub(super) fn problems_env(text: &str, env: &[(&str, &str)]) -> Vec<ConfigError> {
    match load_text(text, env).1 {
        Ok(c) => panic!("expected problems, loaded fine: {c:#?}"),
        Err(e) => e.0,
    }
}

/// Asserts exactly one problem, at `key`, and returns it.
pub(super) fn one(text: &str, key: &str) -> ConfigError {
    let p = problems(text);
    assert_eq!(
        p.len(),
        1,
        "want one problem at {key}, got:\n{}",
        ConfigErrors(p.clone())
    );
    assert_eq!(p[0].key(), key, "got: {}", p[0]);
    p.into_iter().next().expect("one")
}

/// The line of `needle`'s first occurrence in `text` (1-based).
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    let off = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    text[..off].matches('\n').count() + 1
}

/// MINIMAL with `from` replaced by `to` (which must occur).
pub(crate) fn edit(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "{from:?} not in MINIMAL");
    MINIMAL.replacen(from, to, 1)
}
