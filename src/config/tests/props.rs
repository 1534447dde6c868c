//! Property tests: `locate` finds every key of generated TOML on its own line, and `load`
//! never panics on mangled configs, always answering with located problems.

use super::*;
use crate::config::Locator;
use proptest::prelude::*;
use toml::{Table, Value};

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(|i| Value::Integer(i.into())),
        "[a-z0-9 .:/]{0,12}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Boolean),
    ]
}

fn inner() -> impl Strategy<Value = Table> {
    prop::collection::btree_map(key(), leaf(), 1..5).prop_map(|m| m.into_iter().collect())
}

/// Tables nested two deep, with arrays of tables.
fn table() -> impl Strategy<Value = Table> {
    let value = prop_oneof![
        3 => leaf(),
        1 => inner().prop_map(Value::Table),
        1 => prop::collection::vec(inner().prop_map(Value::Table), 1..3).prop_map(Value::Array),
    ];
    prop::collection::btree_map(key(), value, 1..8).prop_map(|m| m.into_iter().collect())
}

/// Every leaf path with its own key name.
fn leaves(t: &Table, path: &str, out: &mut Vec<(String, String)>) {
    for (k, v) in t {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match v {
            Value::Table(inner) => leaves(inner, &p, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(inner) = item {
                        leaves(inner, &format!("{p}[{i}]"), out);
                    }
                }
            }
            _ => out.push((p, k.clone())),
        }
    }
}

proptest! {
    #[test]
    fn locate_finds_every_leaf_on_its_line(t in table()) {
        let text = toml::to_string(&t).expect("serialise");
        let locator = Locator::new(&text).expect("own output parses");
        let mut paths = Vec::new();
        leaves(&t, "", &mut paths);
        for (path, k) in paths {
            let line = locator.line_of(&path).expect("every leaf locates");
            let written = text.lines().nth(line - 1).unwrap_or_default();
            prop_assert!(
                written.trim_start().starts_with(&format!("{k} =")),
                "{path} -> line {line} {written:?} in\n{text}"
            );
            prop_assert!(locator.contains(&path));
        }
    }

    #[test]
    fn mangled_configs_never_panic_and_problems_are_located(
        cut in 0usize..2000, len in 0usize..40, insert in "[\\[\\]{}=\"., a-z0-9\n]{0,8}"
    ) {
        let base = std::fs::read_to_string(repo().join("deploy/three-site/bj-edge-1.toml"))
            .expect("read example");
        let mut text = base.clone();
        let start = text.char_indices().map(|(i, _)| i).nth(cut % base.chars().count()).unwrap_or(0);
        let end = text[start..].char_indices().map(|(i, _)| start + i).nth(len).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        if let Err(errors) = load_text(&text, &[]).1 {
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(e.at().path().is_some(), "{e}");
                let shown = e.to_string();
                prop_assert!(shown.contains("switchback.toml"), "{shown}");
            }
        }
    }
}
