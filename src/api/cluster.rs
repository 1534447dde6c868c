//! This node's cluster standing as the API shows it: in `/v1/status` and `/metrics`.

use crate::config::Config;
use crate::metrics::family;
use crate::store::Standing;
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

/// `{node, role, leader, stale, stale_since}`.
pub(super) fn status(cfg: &Config, st: &Standing) -> Value {
    json!({
        "node": cfg.node.id.as_str(),
        "role": role(cfg, st),
        "leader": st.leader.as_ref().map(|l| l.node.as_str()).or((!st.cluster).then_some(cfg.node.id.as_str())),
        "stale": st.is_stale(),
        "stale_since": st.stale_since.map(|t| t.0),
    })
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
