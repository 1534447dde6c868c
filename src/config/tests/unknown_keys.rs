//! An unknown key injected into every table of the example config is caught and located.

use super::*;
use crate::config::locate::{Segment, parse_path};
use toml::{Table, Value};

const INJECTED: &str = "no_such_key";

/// Tables whose keys are data (site ids), not schema: an extra key there is a different error.
fn is_map(path: &str) -> bool {
    path == "sites" || path.ends_with(".addresses") || path.ends_with(".next_hop")
}

/// Dotted paths of every table in `t` (arrays of tables included), the root as "".
fn tables(t: &Table, path: &str, out: &mut Vec<String>) {
    out.push(path.to_owned());
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    for (k, v) in t {
        match v {
            Value::Table(inner) => tables(inner, &join(k), out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(inner) = item {
                        tables(inner, &format!("{}[{i}]", join(k)), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Adds `INJECTED = 1` to the table at `segs` below `v`.
fn inject(v: &mut Value, segs: &[Segment]) {
    match (v, segs.split_first()) {
        (Value::Table(t), None) => {
            t.insert(INJECTED.to_owned(), Value::Integer(1));
        }
        (Value::Table(t), Some((Segment::Key(k), rest))) => {
            inject(t.get_mut(k).expect("path from tables()"), rest)
        }
        (Value::Array(a), Some((Segment::Index(i), rest))) => {
            inject(a.get_mut(*i).expect("path from tables()"), rest)
        }
        _ => panic!("path from tables() does not resolve"),
    }
}

fn example() -> Table {
    let text = std::fs::read_to_string(repo().join("deploy/three-site/bj-edge-1.toml"))
        .expect("read example");
    text.parse::<Table>().expect("example parses")
}

fn with_injected(paths: &[&String]) -> String {
    let mut root = Value::Table(example());
    for p in paths {
        inject(&mut root, &parse_path(p));
    }
    toml::to_string(&root).expect("serialise")
}

fn key_of(path: &str) -> String {
    if path.is_empty() {
        INJECTED.to_owned()
    } else {
        format!("{path}.{INJECTED}")
    }
}

#[test]
fn unknown_key_in_every_table_is_caught_and_located() {
    let mut paths = Vec::new();
    tables(&example(), "", &mut paths);
    let paths: Vec<&String> = paths.iter().filter(|p| !is_map(p)).collect();
    // node, store, votes (+3 voters), log, dns (+1 tsig key), admin, 3 sites, 4 services with
    // their policies and 2 VIPs, 3 alerts, and the root.
    assert!(paths.len() >= 25, "only {} tables: {paths:?}", paths.len());
    for p in &paths {
        let text = with_injected(&[p]);
        let problems = problems(&text);
        let want = key_of(p);
        assert!(
            matches!(&problems[..], [ConfigError::UnknownKey { key, .. }] if *key == want),
            "injected into `{p}`, got:\n{}",
            ConfigErrors(problems.clone())
        );
        let line = problems[0].at().line().expect("a line");
        let written = text.lines().nth(line - 1).unwrap_or_default();
        assert!(
            written.contains(INJECTED),
            "line {line} is {written:?} for {want}"
        );
    }
}

#[test]
fn unknown_keys_in_all_tables_are_reported_together() {
    let mut paths = Vec::new();
    tables(&example(), "", &mut paths);
    let paths: Vec<&String> = paths.iter().filter(|p| !is_map(p)).collect();
    let problems = problems(&with_injected(&paths));
    let mut got: Vec<String> = problems.iter().map(|e| e.key().to_owned()).collect();
    let mut want: Vec<String> = paths.iter().map(|p| key_of(p)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}
