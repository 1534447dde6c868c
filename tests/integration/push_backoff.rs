//! A probe-only node pushing to two authorities, one of them a TCP black hole (accepts and
//! never answers): the healthy authority keeps receiving every heartbeat, the dead one is
//! retried under a bounded backoff and logged once. A second probe pushing to the healthy
//! authority alone is the baseline over the same window. The test prints the figures;
//! `SWITCHBACK_PUSH_ATTEMPTS=N` (default 3) waits for N attempts at the black hole.

use crate::failover::{StandIn, http_check};
use crate::harness::{Node, sites_and_crm};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::time::Instant;

const KEY: &str = "push-backoff-test-key-0123456789";

/// Accepts connections and holds them open without reading or answering; reports each accept.
fn black_hole() -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind black hole");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            held.push(conn);
            if tx.send(()).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

fn write(dir: &Path, node: &str, roles: &str, push: &str, probes: &str) {
    crate::remote_probe::node_files(dir, KEY, probes);
    let config = format!(
        "[node]\nid = \"{node}\"\nsite = \"bj\"\ndomain = \"{node}\"\nroles = [{roles}]\nstate_dir = \"{state}\"\n\n\
         [admin]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"admin.token\"\n\n\
         [dns]\nlisten = [\"127.0.0.1:0\"]\nzones = [\"boss.example.zone\"]\n\n\
         [votes]\nkey_files = [\"votes.key\"]\nstale_after = \"2s\"\n\
         voters = [{{ id = \"probe-1\", domain = \"probe-1\" }}, {{ id = \"probe-2\", domain = \"probe-2\" }}]\n{push}\n{}",
        sites_and_crm(
            "probes.toml",
            r#"{ mode = "auto", quorum = 2, min_domains = 2, hold_down = "300ms" }"#
        ),
        state = dir.join("state").display(),
    );
    std::fs::write(dir.join("switchback.toml"), config).expect("config");
}

/// The value of one sample (`name{labels}` exactly) in a metrics exposition.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{metrics}"))
}

/// Each probe's latest sequence number as the authority holds it (`None` before both voted).
fn try_seqs(authority: &Node) -> Option<(u64, u64)> {
    let votes: serde_json::Value =
        serde_json::from_str(&authority.cli_ok(&["votes", "--json"])).expect("votes JSON");
    let seq = |id: &str| {
        votes["nodes"]
            .as_array()
            .and_then(|a| a.iter().find(|n| n["node"] == id))
            .and_then(|n| n["seq"].as_u64())
    };
    Some((seq("probe-1")?, seq("probe-2")?))
}

fn seqs(authority: &Node) -> (u64, u64) {
    try_seqs(authority).expect("both probes voted")
}

#[test]
fn a_dead_authority_never_slows_delivery_to_the_others() {
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let checks = format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr));
    let (hole, attempts) = black_hole();

    let auth_dir = tempfile::tempdir().expect("tempdir");
    write(auth_dir.path(), "auth-1", "\"authority\"", "", &checks);
    let authority = Node::spawn(
        &auth_dir.path().join("switchback.toml"),
        &auth_dir.path().join("admin.token"),
        &[],
    );
    let healthy = authority.url();
    let dead = format!("http://{hole}");
    // A stopped authority: nothing listens on its port (connections refused at once).
    let stopped = format!("http://127.0.0.1:{}", crate::ports::free_port());

    let start = |id: &str, authorities: &[&str]| {
        let dir = tempfile::tempdir().expect("tempdir");
        let list: Vec<String> = authorities.iter().map(|a| format!("\"{a}\"")).collect();
        let push = format!("authorities = [{}]\n", list.join(", "));
        write(dir.path(), id, "\"probe\"", &push, &checks);
        let node = Node::spawn(
            &dir.path().join("switchback.toml"),
            &dir.path().join("admin.token"),
            &[],
        );
        (dir, node)
    };
    // probe-1 pushes to the healthy authority, the black hole and the stopped one; probe-2
    // (the baseline) to the healthy one alone.
    let (_d1, mut probe1) = start("probe-1", &[&healthy, &dead, &stopped]);
    let (_d2, _probe2) = start("probe-2", &[&healthy]);

    // The first attempt at the black hole times out: one state-change line.
    probe1.wait_for_line(&format!("{hole}/v1/observations"));
    // Both probes' votes have reached the healthy authority.
    let limit = Instant::now() + Duration::from_secs(30);
    while try_seqs(&authority).is_none() {
        assert!(Instant::now() < limit, "no votes at the healthy authority");
    }
    let before = (seqs(&authority), authority.get("/metrics"), Instant::now());
    // Three more attempts at the black hole (each waits out the request timeout) than it
    // has seen so far; `SWITCHBACK_PUSH_ATTEMPTS` more for a longer run (the figure).
    let more: usize = std::env::var("SWITCHBACK_PUSH_ATTEMPTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    while attempts.try_recv().is_ok() {}
    for _ in 0..more {
        attempts
            .recv_timeout(Duration::from_secs(30))
            .expect("the black hole is retried");
    }
    let after = (seqs(&authority), authority.get("/metrics"), Instant::now());

    let accepted = |m: &str| sample(m, "switchback_observations_accepted_total");
    let received = accepted(&after.1) - accepted(&before.1);
    let made1 = after.0.0 - before.0.0;
    let made2 = after.0.1 - before.0.1;
    let secs = after.2.duration_since(before.2).as_secs_f64();
    eprintln!(
        "push figure: over {secs:.1} s the healthy authority accepted {received} of the {} \
         observations made: probe-1 (also pushing to dead ones) made {made1}, probe-2 {made2}",
        made1 + made2
    );
    let probe_metrics = probe1.get("/metrics");
    let series = |name: &str, url: &str| format!("switchback_push_{name}{{authority=\"{url}\"}}");
    let superseded = sample(&probe_metrics, &series("superseded_total", &healthy));
    let failed = sample(&probe_metrics, &series("failed_total", &dead));
    let backoff = sample(&probe_metrics, &series("backoff_seconds", &dead));
    let in_a_row = sample(&probe_metrics, &series("consecutive_failures", &dead));
    let refused_in_a_row = sample(&probe_metrics, &series("consecutive_failures", &stopped));
    let refused_backoff = sample(&probe_metrics, &series("backoff_seconds", &stopped));
    eprintln!(
        "push figure: probe-1 superseded {superseded} for the healthy one; the black hole failed {failed} \
         times ({in_a_row} in a row, backoff now {backoff} s); the stopped one failed \
         {refused_in_a_row} times in a row (backoff now {refused_backoff} s)"
    );
    // Every observation both probes made in the window reached the healthy authority (a few
    // may be superseded under load; under the old all-authorities-at-once push probe-1's
    // would have arrived once per request timeout).
    assert!(made1 >= 10, "probe-1 kept probing: {made1} observations");
    assert!(
        received >= 0.9 * (made1 + made2) as f64,
        "healthy authority got {received} of {} observations",
        made1 + made2
    );
    assert!(
        made1 as f64 >= 0.9 * made2 as f64,
        "probe-1 delivered {made1} to the healthy authority, baseline probe-2 {made2}"
    );
    // The dead one: retried, backoff bounded, logged once.
    assert!(in_a_row >= 3.0, "{probe_metrics}");
    assert!(backoff > 0.0 && backoff <= 5.0, "backoff {backoff}");
    assert!(refused_in_a_row >= 3.0, "{probe_metrics}");
    assert!(
        refused_backoff > 0.0 && refused_backoff <= 5.0,
        "backoff {refused_backoff}"
    );
    assert_eq!(
        probe1.log().matches("authority unreachable").count(),
        2,
        "one line per change of state, not per failure"
    );
}
