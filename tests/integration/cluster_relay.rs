//! Probe-only nodes pushing to a cluster: each pushed vote is put on the etcd vote board once
//! (by the leader), and a probe that reaches only the followers still counts, because a
//! follower publishes what the board lacks after its grace period (`src/node/relay.rs`).

use crate::cluster_support::{Cluster, KEY, get};
use crate::dns_support::require;
use crate::failover::http_check;
use crate::harness::{Node, sites_and_crm};
use crate::remote_probe::node_files;

/// The probe-only voters, after the cluster's three authorities.
const EXTRA: &str = r#", { id = "p1", domain = "d4" }, { id = "p2", domain = "d5" }"#;

/// Start probe-only node `id` (domain `domain`) pushing to `authorities` (admin URLs).
fn probe(c: &Cluster, id: &str, domain: &str, authorities: &[String]) -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let checks = format!(
        "{}{}",
        http_check("bj", c.bj.addr),
        http_check("sh", c.sh.addr)
    );
    node_files(d, KEY, &checks);
    let list: Vec<String> = authorities.iter().map(|a| format!("\"{a}\"")).collect();
    let config = format!(
        r#"[node]
id = "{id}"
site = "bj"
domain = "{domain}"
roles = ["probe"]
state_dir = "{state}"

[admin]
listen = "127.0.0.1:0"
token_file = "admin.token"

[votes]
key_files = ["votes.key"]
stale_after = "2s"
voters = [{{ id = "a1", domain = "d1" }}, {{ id = "a2", domain = "d2" }}, {{ id = "a3", domain = "d3" }}{EXTRA}]
authorities = [{list}]

{crm}"#,
        state = d.join("state").display(),
        list = list.join(", "),
        crm = sites_and_crm("probes.toml", crate::cluster_support::POLICY),
    );
    std::fs::write(d.join("switchback.toml"), config).expect("config");
    let node = Node::spawn(&d.join("switchback.toml"), &d.join("admin.token"), &[]);
    (dir, node)
}

/// `votes/<node>` on the board: its etcd version (puts since created) and the vote's seq.
fn board_entry(c: &Cluster, node: &str) -> Option<(u64, u64)> {
    let key = format!("{}votes/{node}", c.prefix);
    let json = |args: &[&str]| serde_json::from_str::<serde_json::Value>(&c.etcdctl(args)).ok();
    let meta = json(&["get", "-w", "json", &key])?;
    let vote = json(&["get", "--print-value-only", &key])?;
    Some((
        meta["kvs"][0]["version"].as_u64()?,
        vote["observation"]["seq"].as_u64()?,
    ))
}

/// A counter's value in a `/metrics` text (0 when absent).
fn counter(metrics: &str, line_start: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn cluster_pushed_votes_are_put_once_and_a_probe_cut_off_from_the_leader_still_counts() {
    if require("etcdctl").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start_with_voters("keep", EXTRA) else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    let urls: Vec<String> = (0..3).map(|i| c.auth[i].node().url()).collect();
    let followers: Vec<String> = (0..3)
        .filter(|&i| i != leader)
        .map(|i| urls[i].clone())
        .collect();
    // p1 reaches only the followers; p2 pushes to every authority.
    let (_d1, _p1) = probe(&c, "p1", "d4", &followers);
    let (_d2, _p2) = probe(&c, "p2", "d5", &urls);
    for node in ["p1", "p2"] {
        crate::cluster::wait_for_vote(&mut c, node, |v| v["state"] == "counting");
    }

    // p2's votes: one put each, though three authorities received every one.
    let first = board_entry(&c, "p2").expect("p2 counts, so its vote is on the board");
    let last = loop {
        match board_entry(&c, "p2") {
            Some(e) if e.1 >= first.1 + 20 => break e,
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    };
    let (puts, votes) = (last.0 - first.0, last.1 - first.1);
    assert!(
        puts <= votes + 2,
        "{puts} puts of p2's vote for {votes} new votes (three authorities publishing would be ~{})",
        3 * votes
    );

    // p1 counts at the leader through the followers; they say so in /metrics.
    let published: u64 = (0..3)
        .filter(|&i| i != leader)
        .map(|i| {
            let (_, m) = get(c.auth[i].node().admin, "/metrics");
            counter(&m, "switchback_votes_relayed_total{outcome=\"published\"}")
        })
        .sum();
    assert!(published > 0, "no follower published p1's votes");
    let (_, m) = get(c.auth[leader].node().admin, "/metrics");
    assert_eq!(
        counter(&m, "switchback_votes_relayed_total{outcome=\"published\"}"),
        0,
        "the leader held a vote back"
    );
}
