//! A real secondary (Knot from Debian) on loopback: NOTIFY after a switch, transfer, new answer.
//!
//! Knot is another process, so there is no event to await: the test polls it with kdig in a
//! bounded loop with a deadline.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use switchback::config::TsigKey;

use crate::dns_support::{Running, config, require, section, services, shipped_zone, tool, view};
use crate::ports::free_port;

/// knotd started on a temp config; killed (and its log printed) on drop.
struct Knot {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- knotd log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// A TSIG key as Knot and switchback both hold it: name and base64 secret.
const KEY_NAME: &str = "xfr.boss.example.";
const KEY_SECRET: &str = "c3dpdGNoYmFjay10ZXN0LWtleS0zMi1ieXRlcy1sb25n";

/// Starts Knot as a secondary of `primary`; with `tsig`, transfers and NOTIFYs need the key.
fn start_knot(knotd: &Path, dir: &Path, port: u16, primary: SocketAddr, tsig: bool) -> Knot {
    let (keys, with_key) = if tsig {
        (
            format!(
                "key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {KEY_SECRET}\n"
            ),
            format!("    key: {KEY_NAME}\n"),
        )
    } else {
        (String::new(), String::new())
    };
    let conf = format!(
        "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
database:\n  storage: \"{d}\"\n\
log:\n  - target: stderr\n    any: info\n\
{keys}\
remote:\n  - id: primary\n    address: {ip}@{pport}\n{with_key}\
acl:\n  - id: notify_from_primary\n    address: {ip}\n    action: notify\n{with_key}\
zone:\n  - domain: boss.example\n    master: primary\n    acl: notify_from_primary\n    storage: \"{d}\"\n    file: \"{d}/boss.example.zone\"\n    zonefile-sync: -1\n",
        d = dir.display(),
        ip = primary.ip(),
        pport = primary.port(),
    );
    let conf_path = dir.join("knot.conf");
    std::fs::write(&conf_path, conf).expect("knot.conf");
    let log = dir.join("knot.log");
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(knotd)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("knotd starts");
    Knot { child, log }
}

/// Polls the secondary until `crm` answers `want` or the deadline passes.
async fn wait_for_answer(kdig: &Path, at: SocketAddr, want: &str, deadline: Duration) -> String {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        let out = tool(kdig, at, &["crm.boss.example", "A"]).await;
        if section(&out, "ANSWER").iter().any(|l| l.ends_with(want))
            || tokio::time::Instant::now() > end
        {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_secondary_follows_a_switch() {
    follows_a_switch(false).await;
}

/// The same with a TSIG key: Knot accepts only signed NOTIFYs and transfers, and checks the
/// signatures on every transfer message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_secondary_with_tsig_follows_a_switch() {
    follows_a_switch(true).await;
}

async fn follows_a_switch(tsig: bool) {
    let (Some(knotd), Some(kdig)) = (require("knotd"), require("kdig")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let knot_dir = dir.path().join("knot");
    std::fs::create_dir_all(&knot_dir).expect("dir");
    let knot_port = free_port();
    let knot_addr: SocketAddr = ([127, 0, 0, 1], knot_port).into();
    let mut cfg = config(&shipped_zone(), dir.path(), services());
    cfg.dns.notify = vec![knot_addr];
    if tsig {
        let secret = dir.path().join("xfr.key");
        std::fs::write(&secret, KEY_SECRET).expect("secret");
        cfg.dns.tsig_keys = vec![TsigKey {
            name: KEY_NAME.into(),
            algorithm: "hmac-sha256".into(),
            secret_file: secret,
        }];
        cfg.dns.notify_key = Some(KEY_NAME.into());
    }
    let srv = Running::start(&cfg);
    let knot = start_knot(&knotd, &knot_dir, knot_port, srv.addr, tsig);

    // Bootstrap: Knot transfers the zone and serves the primary's address.
    let out = wait_for_answer(&kdig, knot_addr, "10.1.0.10", Duration::from_secs(20)).await;
    assert!(
        section(&out, "ANSWER")
            .iter()
            .any(|l| l.ends_with("10.1.0.10")),
        "bootstrap: {out}\nknot log:\n{}",
        std::fs::read_to_string(&knot.log).unwrap_or_default()
    );

    // Switch: NOTIFY → Knot asks IXFR → our full transfer → Knot serves the backup's address.
    let acked_before = srv.handle.counters().notifies_acked;
    let transfers_before = srv.handle.counters().transfers;
    assert!(
        srv.handle
            .apply(&[view("crm", "sh", 1, false, &["sh"])])
            .expect("apply")
    );
    let out = wait_for_answer(&kdig, knot_addr, "10.2.0.10", Duration::from_secs(20)).await;
    assert!(
        section(&out, "ANSWER")
            .iter()
            .any(|l| l.ends_with("10.2.0.10")),
        "after switch: {out}"
    );
    let c = srv.handle.counters();
    assert!(
        c.notifies_acked > acked_before,
        "NOTIFY acknowledged: {c:?}"
    );
    assert!(
        c.transfers > transfers_before,
        "secondary transferred: {c:?}"
    );
    let serial = srv.handle.serial("boss.example.").expect("serial");
    let soa = tool(&kdig, knot_addr, &["boss.example", "SOA", "+short"]).await;
    assert!(
        soa.contains(&format!(" {serial} ")),
        "secondary at serial {serial}: {soa}"
    );

    // Back again: another NOTIFY, and this time an incremental transfer from the journal.
    assert!(
        srv.handle
            .apply(&[view("crm", "bj", 2, false, &["bj"])])
            .expect("apply")
    );
    let out = wait_for_answer(&kdig, knot_addr, "10.1.0.10", Duration::from_secs(20)).await;
    assert!(
        section(&out, "ANSWER")
            .iter()
            .any(|l| l.ends_with("10.1.0.10")),
        "failback: {out}"
    );
    let log = std::fs::read_to_string(&knot.log).unwrap_or_default();
    assert!(log.contains("IXFR, incoming"), "Knot took an IXFR: {log}");
    assert!(!log.contains("fallback to AXFR"), "no AXFR fallback: {log}");
    assert!(!log.contains("denied"), "Knot refused nothing: {log}");
    srv.stop().await;
}

/// Zone churn: health-only changes (the degraded TTL) send nothing to the secondary, and a
/// burst of answer changes is coalesced into at most one NOTIFY per `dns.notify_interval`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_secondary_sees_no_notify_storm() {
    let (Some(knotd), Some(kdig)) = (require("knotd"), require("kdig")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let knot_dir = dir.path().join("knot");
    std::fs::create_dir_all(&knot_dir).expect("dir");
    let knot_port = free_port();
    let knot_addr: SocketAddr = ([127, 0, 0, 1], knot_port).into();
    let mut cfg = config(&shipped_zone(), dir.path(), services());
    cfg.dns.notify = vec![knot_addr];
    cfg.dns.notify_interval = Duration::from_secs(3);
    let srv = Running::start(&cfg);
    let _knot = start_knot(&knotd, &knot_dir, knot_port, srv.addr, false);
    wait_for_answer(&kdig, knot_addr, "10.1.0.10", Duration::from_secs(20)).await;
    let serial0 = srv.handle.serial("boss.example.").expect("serial");

    // Degraded TTL on and off, many times: served live, no serial, no NOTIFY.
    let sent0 = srv.handle.counters().notifies_sent;
    for epoch in 1..=20u64 {
        srv.handle
            .apply(&[view("crm", "bj", epoch, epoch % 2 == 1, &["bj"])])
            .expect("apply");
    }
    assert_eq!(srv.handle.serial("boss.example.").expect("serial"), serial0);

    // Five switches back and forth at once, ending at the backup: one NOTIFY now (or none,
    // if the last round is within the interval), one for the newest serial later.
    for (i, site) in ["sh", "bj", "sh", "bj", "sh"].iter().enumerate() {
        srv.handle
            .apply(&[view("crm", site, 21 + i as u64, false, &[site])])
            .expect("apply");
    }
    wait_for_answer(&kdig, knot_addr, "10.2.0.10", Duration::from_secs(20)).await;
    let serial = srv.handle.serial("boss.example.").expect("serial");
    // The answer may come from the burst's first transfer; the newest serial follows within
    // one notify interval.
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    let soa = loop {
        let soa = tool(&kdig, knot_addr, &["boss.example", "SOA", "+short"]).await;
        if soa.contains(&format!(" {serial} ")) || tokio::time::Instant::now() > end {
            break soa;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        soa.contains(&format!(" {serial} ")),
        "secondary at {serial}: {soa}"
    );
    let sent = srv.handle.counters().notifies_sent - sent0;
    assert!(
        (1..=2).contains(&sent),
        "{sent} NOTIFYs for 20 TTL changes and 5 switches in one burst"
    );
    srv.stop().await;
}
