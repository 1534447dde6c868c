//! Drills end to end on loopback: a probing authority with two stand-in sites, `switchback
//! drill` switches crm to sh, verifies the DNS answer from the node's own listener, holds,
//! switches back and writes its report; a drill whose target fails mid-hold aborts back.

use crate::console::http;
use crate::failover::{StandIn, http_check};
use crate::harness::{NodeDir, service};
use std::sync::atomic::Ordering;

fn node_dir(bj: &StandIn, sh: &StandIn) -> NodeDir {
    NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr)),
        r#"{ mode = "auto", quorum = 1, min_domains = 1, hold_down = "300ms", failback = "manual" }"#,
    )
}

/// Wait until a quorum sees both sites up (a drill refuses a target not up): long-polls the
/// dashboard document, which the decision loop's published view wakes.
pub(crate) fn wait_both_up(node: &crate::harness::Node) {
    let mut etag = String::new();
    for _ in 0..100 {
        let url = format!("{}/v1/dashboard?wait={}", node.url(), etag);
        let (code, tag, body) = http("GET", &url, None, None, None);
        assert_eq!(code, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("dashboard JSON");
        let crm = &doc["services"][0];
        if crm["sites"]["sh"]["verdict"] == "up" && crm["sites"]["bj"]["verdict"] == "up" {
            return;
        }
        etag = tag.unwrap_or_default();
    }
    panic!("both sites never seen up; log:\n{}", node.log());
}

#[test]
fn drill_switches_verifies_holds_switches_back_and_reports() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = node_dir(&bj, &sh);
    // The pager hears of drills (alert kind `drill`): an exec sink records each.
    let pager = dir.state().with_file_name("pager.log");
    let mut cfg = std::fs::read_to_string(dir.config()).expect("config");
    cfg.push_str(&format!(
        "\n[[alert]]\nname = \"drills\"\nkind = \"exec\"\nkinds = [\"drill\"]\n\
         command = [\"/bin/sh\", \"-c\", \"cat >> {}; echo >> {}\"]\n",
        pager.display(),
        pager.display()
    ));
    std::fs::write(dir.config(), cfg).expect("write config");
    let mut node = dir.start();
    wait_both_up(&node);
    let out = node.cli_ok(&[
        "drill", "crm", "--to", "sh", "--hold", "1s", "--by", "alice",
    ]);
    assert!(out.contains(": passed"), "{out}");
    assert!(
        out.contains("dns verified"),
        "verified from the node's DNS: {out}"
    );
    // The report, as JSON and Markdown, under state_dir/drills/.
    let drills = dir.state().join("drills");
    let mut files: Vec<String> = std::fs::read_dir(&drills)
        .expect("drills dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].ends_with(".json") && files[1].ends_with(".md"),
        "{files:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(drills.join(&files[0])).expect("read"))
            .expect("json");
    assert_eq!(report["outcome"], "passed", "{report}");
    assert_eq!(report["by"], "alice", "{report}");
    assert_eq!(report["from"], "bj", "{report}");
    assert!(report["rto_ms"].as_u64().is_some(), "{report}");
    assert!(report["back_rto_ms"].as_u64().is_some(), "{report}");
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(phases, ["switchover", "hold", "switchback"], "{report}");
    let md = std::fs::read_to_string(drills.join(&files[1])).expect("md");
    assert!(md.contains("network-layer RTO (switchover)"), "{md}");
    // Back where it started, two epochs on; listed by the API and in the audit trail.
    let crm = service(&node.status(), "crm").clone();
    assert_eq!(crm["active_site"], "bj", "{crm}");
    let listed = node.cli_ok(&["drills"]);
    assert!(
        listed.contains("passed") && listed.contains("alice"),
        "{listed}"
    );
    let history = node.cli_ok(&["history", "crm"]);
    assert!(history.contains("started by alice"), "{history}");
    assert!(history.contains("passed by alice"), "{history}");
    node.wait_for_line("alert delivered sink=drills key=drill/crm");
    node.wait_for_line("alert delivered sink=drills key=drill/crm");
    let paged = std::fs::read_to_string(&pager).expect("pager log");
    assert!(
        paged.contains("drill_started") && paged.contains("drill_passed"),
        "{paged}"
    );
}

#[test]
fn drill_aborts_back_when_the_target_fails_mid_hold() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = node_dir(&bj, &sh);
    let mut node = dir.start();
    wait_both_up(&node);
    let out = node.cli_ok(&["drill", "crm", "--to", "sh", "--hold", "5m", "--no-wait"]);
    assert!(out.contains("running"), "{out}");
    node.wait_for_line("hold at sh");
    sh.up.store(false, Ordering::SeqCst);
    node.wait_for_line("ABORT");
    node.wait_for_line("drill aborted");
    let crm = service(&node.status(), "crm").clone();
    assert_eq!(crm["active_site"], "bj", "back at the start site: {crm}");
    let list: serde_json::Value =
        serde_json::from_str(&node.get("/v1/drills")).expect("drills JSON");
    assert_eq!(list["drills"][0]["outcome"], "aborted", "{list}");
}
