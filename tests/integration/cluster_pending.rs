//! Issue #9 item 3 on a real three-member etcd: a pending confirm-mode proposal is committed
//! through the leader's fenced transaction, shown by every authority (followers read it from
//! the committed records), survives kill -9 of the leader (the new leader resumes it with
//! its time proposed, deadline and reason: no new hold-down, no second page), and an approval
//! sent to a follower switches every authority once.

use crate::cluster::all_answer;
use crate::cluster_support::Cluster;
use crate::dns_support::require;
use crate::harness::service;
use crate::pending::wait_crm;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

const CONFIRM: &str = r#"{ mode = "confirm", quorum = 2, min_domains = 2, hold_down = "300ms", confirm_timeout = "10m" }"#;
const SH: &str = "127.0.2.10";

/// `key=value` from a text log line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

/// Seconds since midnight of a log line's leading RFC 3339 timestamp.
fn secs(line: &str) -> f64 {
    let ts = line.split_whitespace().next().unwrap_or_default();
    let time = ts
        .split('T')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('Z');
    let mut parts = time.split(':').map(|p| p.parse::<f64>().unwrap_or(0.0));
    let (h, m, s) = (
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
    );
    h * 3600.0 + m * 60.0 + s
}

/// Whichever running authority logs `needle` first (each waits on its own log lines in turn).
fn first_to_log(c: &mut Cluster, needle: &str) -> (usize, String) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        for (i, a) in c.auth.iter_mut().enumerate() {
            let Some(node) = a.node.as_mut() else {
                continue;
            };
            while let Some(line) = node.next_line_within(Duration::from_millis(20)) {
                if line.contains(needle) {
                    return (i, line);
                }
            }
        }
    }
    panic!("no authority logged {needle:?}");
}

#[test]
fn cluster_pending_proposal_survives_leader_kill9_and_is_approved_through_a_follower() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start_with_policy("keep", CONFIRM) else {
        return;
    };
    c.wait_enacted(1);
    let mut leader = c.leader();
    c.bj.up.store(false, Ordering::SeqCst);
    let line = c.auth[leader]
        .node()
        .wait_for_line("pending proposal committed");
    let since: u64 = field(&line, "since=").parse().expect("since");
    // Every authority shows it: the followers from the committed records.
    for a in &c.auth {
        let url = a.node.as_ref().expect("running").url();
        wait_crm(&url, "shown pending", |crm| {
            crm["pending"]["since"] == since
        });
    }
    let pending = service(&c.auth[leader].node().status(), "crm")["pending"].clone();
    assert_eq!(pending["to"], "sh", "{pending}");

    let kills: usize = std::env::var("SWITCHBACK_PENDING_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for k in 0..kills {
        let killed_at = Instant::now();
        c.auth[leader].kill9();
        let (next, resumed) = first_to_log(&mut c, "resuming pending proposal");
        let kill_to_resumed = killed_at.elapsed();
        assert_ne!(next, leader);
        assert_eq!(field(&resumed, "since="), since.to_string(), "{resumed}");
        let log = c.auth[next].node().log();
        let elected = log
            .lines()
            .rev()
            .find(|l| l.contains(" leading node="))
            .expect("the new leader logged its election");
        eprintln!(
            "pending-resume kill {k}: {} -> {}: kill -9 -> resumed {} ms; elected -> resumed {:.1} ms",
            c.auth[leader].id,
            c.auth[next].id,
            kill_to_resumed.as_millis(),
            (secs(&resumed) - secs(elected)) * 1000.0
        );
        for a in c.auth.iter_mut().filter(|a| a.node.is_some()) {
            let status = a.node().status();
            let crm = service(&status, "crm");
            assert_eq!(crm["pending"], pending, "{}: {status}", a.id);
            assert_eq!(crm["active_site"], "bj", "{}: {status}", a.id);
            assert_eq!(crm["epoch"], 1, "{}: {status}", a.id);
        }
        // The old leader comes back as a follower and shows the same proposal.
        c.auth[leader].start();
        let url = c.auth[leader].node().url();
        wait_crm(&url, "shown pending", |crm| crm["pending"] == pending);
        leader = next;
    }

    // The leader judges sh up from the probes' votes; then a follower forwards the approval.
    let url = c.auth[leader].node().url();
    wait_crm(&url, "sh up", |crm| crm["sites"]["sh"]["verdict"] == "up");
    let follower = (leader + 1) % 3;
    let out = c.auth[follower]
        .node()
        .cli_ok(&["approve", "crm", "--json"]);
    let answer: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(answer["committed_by"], c.auth[leader].id, "{answer}");
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
    for a in c.auth.iter_mut() {
        let status = a.node().status();
        assert!(
            service(&status, "crm")["pending"].is_null(),
            "{}: {status}",
            a.id
        );
        assert_eq!(service(&status, "crm")["kind"], "confirmed", "{status}");
        // Never proposed (nor paged) again, and committed once.
        assert!(!a.logged("switch proposed"), "{} re-proposed", a.id);
        assert!(
            !a.logged("service=crm epoch=3"),
            "{} saw a second commit",
            a.id
        );
    }
}
