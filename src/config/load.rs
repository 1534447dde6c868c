//! Loading: the TOML file plus `SWITCHBACK__SECTION__KEY` environment overrides, merged by the
//! `config` crate into the raw schema, then validated into the typed [`Config`].
//!
//! Environment variables override scalars and lists (`SWITCHBACK__DNS__LISTEN=a,b` for the
//! keys in `LIST_KEYS`); arrays of tables (`[[service]]`, `[[alert]]`, voters, TSIG keys) come
//! from the file only.
//!
//! serde stops at its first error. To still report every unknown key and mistyped value in one
//! run, the merged tree is deserialized repeatedly: each failure is recorded (located through
//! [`Locator`]) and the offending key removed from the tree before the next try.

use super::Config;
use super::ctx::{Ctx, ENV_PREFIX, ENV_SEPARATOR, env_prefix};
use super::error::{ConfigError, ConfigErrors, Origin};
use super::locate::{Locator, Segment, line_at, parse_path};
use super::raw::RawConfig;
use super::validate;
use config::{Environment, File, FileFormat, Value, ValueKind};
use std::collections::HashMap;
use std::path::Path;

/// Keys whose env value is a comma-separated list, e.g. `SWITCHBACK__NODE__ROLES=probe,authority`.
const LIST_KEYS: &[&str] = &[
    "node.roles",
    "store.endpoints",
    "votes.authorities",
    "votes.key_files",
    "dns.listen",
    "dns.zones",
    "dns.notify",
    "dns.allow_transfer",
];

/// More structural problems than this in one file and the rest are not worth listing.
const MAX_STRUCTURAL: usize = 100;

/// Loads and validates the config at `path`, overridden by `env` (the process environment
/// when `None`). Returns every problem found, each located as `file:line: key: problem`.
pub fn load(path: &Path, env: Option<HashMap<String, String>>) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::Read {
            at: Origin::file(path, None),
            problem: e.to_string(),
        }])
    })?;
    load_text(path, &text, env)
}

/// [`load`] over text already read (`path` names it in errors and anchors relative paths).
pub(crate) fn load_text(
    path: &Path,
    text: &str,
    env: Option<HashMap<String, String>>,
) -> Result<Config, ConfigErrors> {
    let text = text.to_owned();
    let env = env.unwrap_or_else(process_env);
    let locator = Locator::new(&text).map_err(|e| {
        ConfigErrors(vec![ConfigError::Syntax {
            at: Origin::file(path, e.span().map(|s| line_at(&text, s.start))),
            problem: e.message().trim().to_owned(),
        }])
    })?;
    let mut ctx = Ctx::new(path, &locator, &env);
    let raw = raw_config(&text, &env, &mut ctx);
    let config = validate::config(raw, &mut ctx);
    if ctx.errors.is_empty() {
        Ok(config)
    } else {
        // Report in reading order: env overrides first, then the file top to bottom.
        let mut errors = ctx.errors;
        errors.sort_by_key(|e| match e.at() {
            Origin::Env { .. } => (0, 0),
            Origin::File { line, .. } => (1, line.unwrap_or(0)),
        });
        Err(ConfigErrors(errors))
    }
}

/// The `SWITCHBACK__…` variables of this process (others are irrelevant; non-UTF-8 skipped).
pub(crate) fn process_env() -> HashMap<String, String> {
    let prefix = env_prefix();
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.to_lowercase().starts_with(&prefix))
        .collect()
}

/// Merges file and env with the `config` crate and deserializes the raw schema, recording
/// every structural problem; what could not be read stays at its default.
fn raw_config(text: &str, env: &HashMap<String, String>, ctx: &mut Ctx<'_>) -> RawConfig {
    let mut environment = Environment::with_prefix(ENV_PREFIX)
        .separator(ENV_SEPARATOR)
        .try_parsing(true)
        .list_separator(",");
    for key in LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    let built = config::Config::builder()
        .add_source(File::from_str(text, FileFormat::Toml))
        .add_source(environment.source(Some(env.clone().into_iter().collect())))
        .build()
        .and_then(|c| c.try_deserialize::<Value>());
    let mut tree = match built {
        Ok(tree) => tree,
        Err(e) => {
            ctx.structural(ConfigError::BadValue {
                at: Origin::file(&ctx.file, None),
                key: String::new(),
                problem: e.to_string(),
            });
            return RawConfig::default();
        }
    };
    for _ in 0..MAX_STRUCTURAL {
        match tree.clone().try_deserialize::<RawConfig>() {
            Ok(raw) => return raw,
            Err(e) => {
                let (error, key) = classify(e, ctx);
                ctx.structural(error);
                if key.is_empty() || !remove(&mut tree, &key) {
                    break;
                }
            }
        }
    }
    RawConfig::default()
}

/// Turns a `config` crate error into ours and the key path to drop before retrying.
fn classify(e: config::ConfigError, ctx: &Ctx<'_>) -> (ConfigError, String) {
    use config::ConfigError as E;
    match e {
        E::Type {
            unexpected,
            expected,
            key,
            ..
        } => {
            let key = ungarble(key.as_deref().unwrap_or_default());
            let error = ConfigError::WrongType {
                at: ctx.at(&key),
                problem: toml_words(&format!(
                    "wrong type: found {unexpected}, expected {expected}"
                )),
                key: key.clone(),
            };
            (error, key)
        }
        E::At { error, key, .. } => {
            let parent = ungarble(key.as_deref().unwrap_or_default());
            located(*error, &parent, ctx)
        }
        other => located(other, "", ctx),
    }
}

/// An error under table `parent`: an unknown field in it, or a problem with `parent` itself.
fn located(e: config::ConfigError, parent: &str, ctx: &Ctx<'_>) -> (ConfigError, String) {
    // serde reports unknown fields only through `Error::custom`, so the message is all there is.
    if let config::ConfigError::Message(m) = &e
        && let Some(field) = m
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
    {
        let key = if parent.is_empty() {
            field.to_owned()
        } else {
            format!("{parent}.{field}")
        };
        return (
            ConfigError::UnknownKey {
                at: ctx.at(&key),
                key: key.clone(),
            },
            key,
        );
    }
    if let config::ConfigError::NotFound(k) = &e {
        let key = ungarble(k);
        return (
            ConfigError::MissingKey {
                at: ctx.at(&key),
                key: key.clone(),
            },
            String::new(),
        );
    }
    let error = ConfigError::WrongType {
        at: ctx.at(parent),
        key: parent.to_owned(),
        problem: toml_words(&e.to_string()),
    };
    (error, parent.to_owned())
}

/// serde's words for shapes, in TOML's: `struct RawPolicy` → `a table`, `a sequence` → `an array`.
fn toml_words(msg: &str) -> String {
    let mut out = msg
        .replace("invalid type: ", "wrong type: found ")
        .replace("a sequence", "an array")
        .replace("a map", "a table")
        .replace("sequence,", "an array,")
        .replace("map,", "a table,");
    while let Some(i) = out.find("struct Raw") {
        let name = i + "struct ".len();
        let end = out[name..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |e| name + e);
        out.replace_range(i..end, "a table");
    }
    out
}

/// The config crate writes `vip[0]address`; we write `vip[0].address`.
fn ungarble(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev = '\0';
    for c in key.chars() {
        if prev == ']' && c != '[' && c != '.' {
            out.push('.');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Drops `key` from the merged tree; an array item drops its whole array (indices would shift).
fn remove(tree: &mut Value, key: &str) -> bool {
    let mut path = parse_path(key);
    while matches!(path.last(), Some(Segment::Index(_))) {
        path.pop();
    }
    let Some((Segment::Key(last), parents)) = path.split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        node = match (&mut node.kind, seg) {
            (ValueKind::Table(t), Segment::Key(k)) => match t.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (ValueKind::Array(a), Segment::Index(i)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match &mut node.kind {
        ValueKind::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ungarbles_config_crate_keys() {
        assert_eq!(ungarble("vip[0]address"), "vip[0].address");
        assert_eq!(ungarble("service[1].policy"), "service[1].policy");
        assert_eq!(ungarble("a[0][1]b"), "a[0][1].b");
    }

    #[test]
    fn speaks_toml_not_serde() {
        assert_eq!(
            toml_words("invalid type: integer `3`, expected struct RawPolicy"),
            "wrong type: found integer `3`, expected a table"
        );
        assert_eq!(
            toml_words("invalid type: sequence, expected a map"),
            "wrong type: found an array, expected a table"
        );
        assert_eq!(
            toml_words("invalid type: string \"x\", expected a sequence"),
            "wrong type: found string \"x\", expected an array"
        );
    }
}
