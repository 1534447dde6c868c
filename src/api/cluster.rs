//! This node's cluster standing as the API shows it: in `/v1/status` and `/metrics`.

use crate::config::Config;
use crate::metrics::family;
use crate::store::{Members, Standing};
use serde_json::{Value, json};
use std::fmt::Write;

/// `leader` when this node leads, `follower` otherwise, `single` for an embedded store.
fn role(cfg: &Config, st: &Standing) -> &'static str {
    if !st.cluster {
        "single"
    } else if st.leader.as_ref().is_some_and(|l| l.node == cfg.node.id) {
        "leader"
    } else {
        "follower"
    }
}

/// `{node, role, leader, stale, stale_since, authorities}`: this node's standing, and every
/// authority of the roster as this node knows it.
pub(super) fn status(cfg: &Config, st: &Standing, roster: &Members) -> Value {
    let leader = st
        .leader
        .as_ref()
        .map(|l| l.node.as_str())
        .or((!st.cluster).then_some(cfg.node.id.as_str()));
    json!({
        "node": cfg.node.id.as_str(),
        "role": role(cfg, st),
        "leader": leader,
        "stale": st.is_stale(),
        "stale_since": st.stale_since.map(|t| t.0),
        "authorities": authorities(roster, leader),
    })
}

/// `[{node, admin, leader, stale, stale_since, gone, version, epochs: {service: epoch}}]`,
/// by node: `leader` as this node sees who leads; `gone` once its record expired in the store.
pub(super) fn authorities(roster: &Members, leader: Option<&str>) -> Value {
    roster
        .values()
        .map(|m| {
            let r = &m.record;
            let epochs: serde_json::Map<String, Value> = r
                .epochs
                .iter()
                .map(|(s, e)| (s.as_str().to_owned(), json!(e.0)))
                .collect();
            json!({
                "node": r.node.as_str(),
                "admin": r.admin,
                "leader": leader == Some(r.node.as_str()),
                "stale": r.stale_since.is_some(),
                "stale_since": r.stale_since.map(|t| t.0),
                "gone": m.gone,
                "version": r.version,
                "epochs": epochs,
            })
        })
        .collect()
}

/// `switchback_cluster_stale` and `switchback_cluster_leader` (0/1).
pub(super) fn metrics(cfg: &Config, st: &Standing) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "switchback_cluster_stale",
        "gauge",
        "1 while this node is cut off from its cluster store (answers are the last committed)",
    );
    let _ = writeln!(out, "switchback_cluster_stale {}", u8::from(st.is_stale()));
    family(
        &mut out,
        "switchback_cluster_leader",
        "gauge",
        "1 while this node leads (always for a single authority)",
    );
    let leads = matches!(role(cfg, st), "leader" | "single");
    let _ = writeln!(out, "switchback_cluster_leader {}", u8::from(leads));
    out
}
