//! End to end through the real binary: probes see the primary's health endpoint fail, the
//! policy switches after its hold-down, the DNS answer changes, and a kill -9 and restart
//! resumes the switched state (never back to the primary because it restarted).

use crate::dns_support::require;
use crate::harness::NodeDir;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A stand-in site: answers `GET /health` with 200 while `up`, else 503. Loopback only.
pub(crate) struct StandIn {
    pub(crate) addr: SocketAddr,
    pub(crate) up: Arc<AtomicBool>,
}

impl StandIn {
    pub(crate) fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&up);
        // The thread ends with the test process; it only ever accepts on loopback.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let answer = if flag.load(Ordering::SeqCst) {
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                } else {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\ndown\n"
                };
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        StandIn { addr, up }
    }
}

/// A probes-file `[[check]]` of the crm app at `site`, against a stand-in's health endpoint.
pub(crate) fn http_check(site: &str, addr: SocketAddr) -> String {
    format!(
        "[[check]]\nname = \"app-{site}\"\nsite = \"{site}\"\nlayer = \"app\"\nkind = \"http\"\n\
         url = \"http://{addr}/health\"\nexpect_status = [200]\ninterval = \"100ms\"\n\
         timeout = \"80ms\"\nrise = 1\nfall = 2\n\n"
    )
}

/// A probing authority whose crm checks are the two stand-ins' health endpoints.
fn node_dir(bj: SocketAddr, sh: SocketAddr) -> NodeDir {
    NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj), http_check("sh", sh)),
        r#"{ mode = "auto", quorum = 1, min_domains = 1, hold_down = "300ms" }"#,
    )
}

fn dig_a(dig: &Path, dns: SocketAddr, name: &str) -> String {
    let out = Command::new(dig)
        .args([
            "+short",
            "+time=2",
            "+tries=2",
            "-p",
            &dns.port().to_string(),
        ])
        .arg(format!("@{}", dns.ip()))
        .args([name, "A"])
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn primary_failure_moves_dns_and_survives_restart() {
    let Some(dig) = require("dig") else { return };
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = node_dir(bj.addr, sh.addr);

    let mut node = dir.start();
    let dns = node.wait_for_addr("dns listening on");
    assert_eq!(dig_a(&dig, dns, "crm.boss.example."), "127.0.1.10");

    // The primary's application fails; wait for the committed failover, not for time.
    bj.up.store(false, Ordering::SeqCst);
    // The enactor applies what was committed (its line and the decision's race).
    let [line, _] = node.wait_for_each([
        "decision committed",
        "enacted enactor=\"dns\" service=crm epoch=2",
    ]);
    assert!(line.contains("active_site=sh"), "{line}");
    assert_eq!(dig_a(&dig, dns, "crm.boss.example."), "127.0.2.10");
    let status = node.status();
    let crm = &status["services"][0];
    assert_eq!(crm["active_site"], "sh", "{status}");
    assert_eq!(crm["epoch"], 2, "{status}");
    let reason = crm["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("app down"), "reason says why: {reason}");
    // The node's own check states, with the failing check's last error.
    let checks: serde_json::Value =
        serde_json::from_str(&node.get("/v1/checks")).expect("checks JSON");
    let bj_check = checks["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "app-bj"))
        .unwrap_or_else(|| panic!("app-bj in {checks}"));
    assert_eq!(bj_check["state"], "down", "{bj_check}");

    // A crash and restart (primary still failing, then even recovered) resumes sh at epoch 2.
    node.kill9();
    bj.up.store(true, Ordering::SeqCst);
    let mut node = dir.start();
    let dns = node.wait_for_addr("dns listening on");
    assert_eq!(dig_a(&dig, dns, "crm.boss.example."), "127.0.2.10");
    let status = node.status();
    assert_eq!(status["services"][0]["active_site"], "sh", "{status}");
    assert_eq!(status["services"][0]["epoch"], 2, "{status}");
}
