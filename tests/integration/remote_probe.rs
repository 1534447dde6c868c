//! Votes over the wire: a probe-only node signs its observations and pushes them to an
//! authority's `POST /v1/observations`; those remote votes alone drive a failover there.

use crate::failover::{StandIn, http_check};
use crate::harness::{Node, TOKEN, sites_and_crm};
use std::path::Path;
use std::sync::atomic::Ordering;

const KEY: &str = "remote-probe-test-key-0123456789";

/// Shared parts of both nodes' configs: sites, the voter list, the key and one service.
fn common(probes: &str) -> String {
    format!(
        r#"[votes]
key_files = ["votes.key"]
stale_after = "2s"
voters = [{{ id = "probe-1", domain = "x" }}]
{probes}
{}"#,
        sites_and_crm(
            "probes.toml",
            r#"{ mode = "auto", quorum = 1, min_domains = 1, hold_down = "300ms" }"#
        )
    )
}

/// The files a node's config refers to: vote key, admin token, probes file, zone.
pub(crate) fn node_files(dir: &Path, key: &str, probes: &str) {
    std::fs::write(dir.join("votes.key"), key).expect("key");
    std::fs::write(dir.join("admin.token"), TOKEN).expect("token");
    std::fs::write(dir.join("probes.toml"), probes).expect("probes");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone"),
        dir.join("boss.example.zone"),
    )
    .expect("zone");
}

fn write(dir: &Path, node: &str, roles: &str, extra: &str, probes: &str) {
    node_files(dir, KEY, probes);
    let config = format!(
        "[node]\nid = \"{node}\"\nsite = \"bj\"\ndomain = \"x\"\nroles = [{roles}]\nstate_dir = \"{state}\"\n\n\
         [admin]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"admin.token\"\n\n\
         [dns]\nlisten = [\"127.0.0.1:0\"]\nzones = [\"boss.example.zone\"]\n\n{}",
        common(extra),
        state = dir.join("state").display(),
    );
    std::fs::write(dir.join("switchback.toml"), config).expect("config");
}

#[test]
fn signed_remote_votes_drive_a_failover() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let checks = format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr));

    // The authority runs no checks of its own: only probe-1's pushed votes count.
    let auth_dir = tempfile::tempdir().expect("tempdir");
    write(auth_dir.path(), "auth-1", "\"authority\"", "", &checks);
    let auth_cfg = auth_dir.path().join("switchback.toml");
    let mut authority = Node::spawn(&auth_cfg, &auth_dir.path().join("admin.token"), &[]);

    let probe_dir = tempfile::tempdir().expect("tempdir");
    let push = format!("authorities = [\"{}\"]\n", authority.url());
    write(probe_dir.path(), "probe-1", "\"probe\"", &push, &checks);
    let probe_cfg = probe_dir.path().join("switchback.toml");
    let probe = Node::spawn(&probe_cfg, &probe_dir.path().join("admin.token"), &[]);

    bj.up.store(false, Ordering::SeqCst);
    let line = authority.wait_for_line("decision committed");
    assert!(line.contains("active_site=sh"), "{line}");
    let status = authority.status();
    let reason = status["services"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("app down"), "{reason}");
    let votes = authority.cli_ok(&["votes", "--json"]);
    assert!(votes.contains("probe-1"), "{votes}");
    // The probe-only node does not decide: no policy of its own raising quorum_lost, and
    // operator commands sent to it are refused with where to send them.
    let log = probe.log();
    assert!(
        log.contains("probe-only: no decision loop here") && !log.contains("quorum"),
        "a probe-only node ran a policy:\n{log}"
    );
    let out = probe.cli(&["switch", "crm", "--to", "bj", "--reason", "test", "--force"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("probe-only"), "{err}");
}

/// A reload restarts the authority's roles; the remote probe's vote, already on the board,
/// is carried over rather than waiting for the probe's next push (the probe is dead here,
/// so only the carry can keep its vote).
#[test]
fn reload_carries_remote_votes_over() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let checks = format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr));
    let long = |dir: &Path| {
        let cfg = dir.join("switchback.toml");
        let text = std::fs::read_to_string(&cfg).expect("config");
        std::fs::write(
            &cfg,
            text.replace("stale_after = \"2s\"", "stale_after = \"60s\""),
        )
        .expect("config");
        cfg
    };
    let auth_dir = tempfile::tempdir().expect("tempdir");
    write(auth_dir.path(), "auth-1", "\"authority\"", "", &checks);
    let auth_cfg = long(auth_dir.path());
    let mut authority = Node::spawn(&auth_cfg, &auth_dir.path().join("admin.token"), &[]);
    let probe_dir = tempfile::tempdir().expect("tempdir");
    let push = format!("authorities = [\"{}\"]\n", authority.url());
    write(probe_dir.path(), "probe-1", "\"probe\"", &push, &checks);
    let probe_cfg = long(probe_dir.path());
    let probe = Node::spawn(&probe_cfg, &probe_dir.path().join("admin.token"), &[]);

    // probe-1's votes alone switch the service: then its vote is on the board.
    bj.up.store(false, Ordering::SeqCst);
    let line = authority.wait_for_line("decision committed");
    assert!(line.contains("active_site=sh"), "{line}");
    probe.kill9();
    let out = authority.cli_ok(&["reload"]);
    assert!(out.contains("reload accepted"), "{out}");
    authority.wait_for_each(["votes carried over the reload", "reloaded"]);
    authority.wait_for_line("node ready");
    let votes = authority.cli_ok(&["votes", "--json"]);
    assert!(
        votes.contains("probe-1"),
        "the dead probe's vote was carried: {votes}"
    );
}
