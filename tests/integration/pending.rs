//! Issue #9 item 3 (single node, embedded store): a pending confirm-mode proposal is committed
//! beside the decision, survives kill -9 as it was (same time proposed, deadline, reason; no
//! new hold-down, no second page), and an operator's approval on the restarted node switches;
//! a corrupt proposal stops the restart naming the file.

use crate::console::http;
use crate::failover::{StandIn, http_check};
use crate::harness::{Node, NodeDir, service};
use std::sync::atomic::Ordering;

/// crm in confirm mode with a long confirm_timeout (it must not expire during the test).
fn node_dir(bj: &StandIn, sh: &StandIn) -> NodeDir {
    NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr)),
        r#"{ mode = "confirm", quorum = 1, min_domains = 1, hold_down = "300ms", confirm_timeout = "10m" }"#,
    )
}

/// Long-poll the dashboard document (woken by every published view) until crm satisfies `pred`.
pub(crate) fn wait_crm(url: &str, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
    let mut etag = String::new();
    for _ in 0..200 {
        let (code, tag, body) = http(
            "GET",
            &format!("{url}/v1/dashboard?wait={etag}"),
            None,
            None,
            None,
        );
        assert_eq!(code, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("dashboard JSON");
        if pred(&doc["services"][0]) {
            return;
        }
        etag = tag.unwrap_or_default();
    }
    panic!("{url}: crm never {what}");
}

/// The pending proposal in the decision file on disk.
fn pending_on_disk(dir: &NodeDir) -> serde_json::Value {
    let file = dir.state().join("decisions/crm.json");
    let text = std::fs::read_to_string(&file).expect("decision file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("decision JSON");
    v["pending"].clone()
}

fn proposed(dir: &NodeDir, bj: &StandIn) -> (Node, serde_json::Value) {
    let mut node = dir.start();
    bj.up.store(false, Ordering::SeqCst);
    // Logged once the store holds it (before the page goes out).
    node.wait_for_line("pending proposal committed");
    let pending = pending_on_disk(dir);
    assert_eq!(pending["to"], "sh", "{pending}");
    assert_eq!(pending["kind"], "failover", "{pending}");
    (node, pending)
}

#[test]
fn pending_proposal_survives_kill9_and_is_approved_after_restart() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = node_dir(&bj, &sh);
    let (node, pending) = proposed(&dir, &bj);
    node.kill9();

    // bj still failing: the restarted node holds the very same proposal at once.
    let node = dir.start();
    let status = node.status();
    let crm = service(&status, "crm");
    assert_eq!(crm["active_site"], "bj", "{status}");
    assert_eq!(crm["epoch"], 1, "{status}");
    assert_eq!(crm["pending"], pending, "resumed as committed: {status}");
    assert!(
        node.log().contains("resuming pending proposal"),
        "{}",
        node.log()
    );
    // Once its probes judge both sites (bj down, sh up) it is still the same proposal.
    wait_crm(&node.url(), "judged", |c| {
        c["sites"]["bj"]["verdict"] == "down" && c["sites"]["sh"]["verdict"] == "up"
    });
    assert_eq!(service(&node.status(), "crm")["pending"], pending);
    let out = node.cli_ok(&["approve", "crm"]);
    assert!(out.contains("sh"), "{out}");
    let status = node.status();
    let crm = service(&status, "crm");
    assert_eq!(crm["active_site"], "sh", "{status}");
    assert_eq!(crm["epoch"], 2, "{status}");
    assert_eq!(crm["kind"], "confirmed", "{status}");
    assert!(crm["pending"].is_null(), "{status}");
    assert!(pending_on_disk(&dir).is_null(), "cleared on disk");
    // Not proposed (nor paged) a second time by the restarted node.
    assert!(
        !node.log().contains("switch proposed"),
        "re-proposed after restart:\n{}",
        node.log()
    );
}

#[test]
fn corrupt_pending_proposal_stops_restart_with_its_path() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = node_dir(&bj, &sh);
    let (node, _) = proposed(&dir, &bj);
    node.kill9();
    let file = dir.state().join("decisions/crm.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    v["pending"]["kind"] = "sideways".into();
    let bad = serde_json::to_string(&v).expect("JSON");
    std::fs::write(&file, &bad).expect("write");
    let stderr = crate::harness::serve_refused(&dir.config(), "on a corrupt proposal");
    assert!(
        stderr.contains(&file.display().to_string()),
        "path not named: {stderr}"
    );
    assert!(stderr.contains("sideways"), "cause not named: {stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("still there"), bad);
}
