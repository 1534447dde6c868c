//! The validation context: which file, where each key stands (file line or env variable),
//! and the problems collected so far.

use super::error::{ConfigError, Origin};
use super::locate::{Locator, Segment, parse_path};
use super::values;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment prefix; `SWITCHBACK__DNS__UDP_SOCKETS` overrides `dns.udp_sockets`.
pub(crate) const ENV_PREFIX: &str = "SWITCHBACK";
/// Between the prefix and the section, and between nested keys.
pub(crate) const ENV_SEPARATOR: &str = "__";

/// Collects problems for one config file.
pub(crate) struct Ctx<'a> {
    /// The config file as given.
    pub(crate) file: PathBuf,
    /// Its folder: relative paths inside resolve against it.
    pub(crate) base: PathBuf,
    locator: &'a Locator<'a>,
    /// Dotted key (`dns.udp_sockets`) → the variable that set it.
    env_keys: HashMap<String, String>,
    /// Keys already reported by the structural (serde) pass; later problems under them are
    /// follow-ups of the same mistake and are not repeated.
    structural: Vec<String>,
    /// Everything found so far.
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Ctx<'a> {
    /// A context for `file`, whose text `locator` parsed, under environment `env`.
    pub(crate) fn new(
        file: &Path,
        locator: &'a Locator<'a>,
        env: &HashMap<String, String>,
    ) -> Self {
        let base = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let env_keys = env
            .keys()
            .filter_map(|var| {
                let lower = var.to_lowercase();
                let rest = lower.strip_prefix(&env_prefix())?;
                Some((rest.replace(ENV_SEPARATOR, "."), var.clone()))
            })
            .collect();
        Self {
            file: file.to_owned(),
            base,
            locator,
            env_keys,
            structural: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Where `key` came from: the env variable that set it, else its file line.
    pub(crate) fn at(&self, key: &str) -> Origin {
        let mut head = Vec::new();
        for seg in parse_path(key) {
            match seg {
                Segment::Key(k) => head.push(k),
                Segment::Index(_) => break,
            }
        }
        // An env variable sets the key itself or a whole table above it.
        for n in (1..=head.len()).rev() {
            if let Some(var) = self.env_keys.get(&head[..n].join(".")) {
                return Origin::Env { var: var.clone() };
            }
        }
        Origin::file(&self.file, self.locator.line_of(key))
    }

    /// Records a problem found by the structural pass and remembers its key.
    pub(crate) fn structural(&mut self, e: ConfigError) {
        self.structural.push(e.key().to_owned());
        self.errors.push(e);
    }

    fn push(&mut self, e: ConfigError) {
        let key = e.key();
        let follow_up = self.structural.iter().any(|r| {
            key == r
                || key
                    .strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        });
        if !follow_up {
            self.errors.push(e);
        }
    }

    /// A value that does not parse or is out of range.
    pub(crate) fn bad(&mut self, key: &str, problem: impl Into<String>) {
        let at = self.at(key);
        self.push(ConfigError::BadValue {
            at,
            key: key.to_owned(),
            problem: problem.into(),
        });
    }

    /// Values that contradict each other or name something unknown.
    pub(crate) fn conflict(&mut self, key: &str, problem: impl Into<String>) {
        let at = self.at(key);
        self.push(ConfigError::Conflict {
            at,
            key: key.to_owned(),
            problem: problem.into(),
        });
    }

    /// A required key that is absent.
    pub(crate) fn missing(&mut self, key: &str) {
        let at = self.at(key);
        self.push(ConfigError::MissingKey {
            at,
            key: key.to_owned(),
        });
    }

    /// Pushes an already-built error (referenced files, missing files).
    pub(crate) fn other(&mut self, e: ConfigError) {
        self.push(e);
    }

    /// The parsed value, or `None` after reporting the parser's problem at `key`.
    pub(crate) fn parse<T>(&mut self, key: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(problem) => {
                self.bad(key, problem);
                None
            }
        }
    }
}

/// `switchback__` — env variables are matched case-insensitively, as the config crate does.
pub(crate) fn env_prefix() -> String {
    format!("{ENV_PREFIX}{ENV_SEPARATOR}").to_lowercase()
}

/// A required, non-empty identifier at `key`.
pub(crate) fn ident(ctx: &mut Ctx<'_>, key: &str, v: Option<&str>) -> String {
    match v.map(str::trim) {
        None => {
            ctx.missing(key);
            String::new()
        }
        Some("") => {
            ctx.bad(key, "empty");
            String::new()
        }
        Some(s)
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') =>
        {
            ctx.bad(
                key,
                format!("{s:?}: use letters, digits, '-', '_' and '.' only"),
            );
            s.to_owned()
        }
        Some(s) => s.to_owned(),
    }
}

/// A duration at `key`, or zero after reporting it.
pub(crate) fn duration(ctx: &mut Ctx<'_>, key: &str, s: &str) -> Duration {
    ctx.parse(key, values::duration(s)).unwrap_or_default()
}

/// `a, b, c` for error texts.
pub(crate) fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}
