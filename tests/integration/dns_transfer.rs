//! Zone transfers with dig: AXFR (multi-message past 64 KiB), IXFR fallback, allow-list, TSIG.

use crate::dns_support::{Running, config, dig, services, shipped_zone, status, view};
use switchback::config::TsigKey;

/// The answer lines of a dig AXFR/IXFR listing (records only).
fn records(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn zone_with_hosts(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(shipped_zone()).expect("zone");
    for i in 0..n {
        text.push_str(&format!("host{i} IN A 10.3.{}.{}\n", i / 250, i % 250 + 1));
    }
    let path = dir.join("boss.example.zone");
    std::fs::write(&path, text).expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axfr_carries_service_answers_and_splits_big_zones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = zone_with_hosts(dir.path(), 5000);
    let srv = Running::start(&config(&zone, dir.path(), services()));
    assert!(
        srv.handle
            .apply(&[view("crm", "sh", 1, false, &["sh"])])
            .expect("apply")
    );
    let Some(out) = dig(srv.addr, &["boss.example", "AXFR"]).await else {
        return;
    };
    let recs = records(&out);
    assert!(
        recs.first().is_some_and(|r| r.contains(" SOA ")),
        "starts with SOA"
    );
    assert!(
        recs.last().is_some_and(|r| r.contains(" SOA ")),
        "ends with SOA"
    );
    assert!(
        recs.contains(&"crm.boss.example. 30 IN A 10.2.0.10".to_owned()),
        "service record"
    );
    assert!(recs.contains(&"host4999.boss.example. 300 IN A 10.3.19.250".to_owned()));
    // 5000 hosts + 2 SOA + 2 NS + glue/static (6) + 3 services.
    assert_eq!(
        recs.len(),
        5000 + 2 + 2 + 6 + 3,
        "{}",
        &out[out.len().saturating_sub(300)..]
    );
    let messages: usize = out
        .split("messages ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        messages > 1,
        "a zone over 64 KiB needs several messages: {messages}"
    );
    assert_eq!(srv.handle.counters().transfers, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_is_incremental_from_journal_full_from_unknown_one_soa_when_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let old = srv.handle.serial("boss.example.").expect("serial");
    assert!(
        srv.handle
            .apply(&[view("crm", "sh", 1, false, &["sh"])])
            .expect("apply")
    );
    assert!(
        srv.handle
            .apply(&[view("crm", "bj", 2, true, &["bj"])])
            .expect("apply")
    );
    let now = srv.handle.serial("boss.example.").expect("serial");
    assert_eq!(now, old + 2);

    // From a serial in the journal: SOA(new), per bump SOA(old) removed SOA(next) added, SOA(new).
    let Some(inc) = dig(srv.addr, &["boss.example", &format!("IXFR={old}")]).await else {
        return;
    };
    let recs = records(&inc);
    let soa = |s: u32| format!("noc.boss.example. {s} ");
    let shape: Vec<String> = recs
        .iter()
        .map(|r| {
            if r.contains(" SOA ") {
                let serial = [old, old + 1, now]
                    .into_iter()
                    .find(|s| r.contains(&soa(*s)));
                format!("SOA {}", serial.map(|s| s - old).unwrap_or(99))
            } else {
                r.clone()
            }
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            "SOA 2",
            "SOA 0",
            "crm.boss.example. 30 IN A 10.1.0.10",
            "SOA 1",
            "crm.boss.example. 30 IN A 10.2.0.10",
            "SOA 1",
            "crm.boss.example. 30 IN A 10.2.0.10",
            "SOA 2",
            "crm.boss.example. 5 IN A 10.1.0.10",
            "SOA 2",
        ],
        "{inc}"
    );

    // A serial we never had: the whole zone.
    let full = dig(srv.addr, &["boss.example", &format!("IXFR={}", old - 100)])
        .await
        .expect("dig");
    let recs = records(&full);
    assert!(
        recs.iter().any(|r| r.starts_with("portal.boss.example.")),
        "full transfer: {full}"
    );
    assert!(
        recs.contains(&"crm.boss.example. 5 IN A 10.1.0.10".to_owned()),
        "{full}"
    );

    // Up to date: a single SOA.
    let current = dig(srv.addr, &["boss.example", &format!("IXFR={now}")])
        .await
        .expect("dig");
    let recs = records(&current);
    assert_eq!(recs.len(), 1, "up to date: a single SOA: {current}");
    assert!(recs[0].contains(&format!(" {now} ")), "{current}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_outside_the_allow_list_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&shipped_zone(), dir.path(), services());
    cfg.dns.allow_transfer = vec!["192.0.2.54/32".parse().expect("net")];
    let srv = Running::start(&cfg);
    let Some(out) = dig(srv.addr, &["boss.example", "AXFR"]).await else {
        return;
    };
    assert!(
        out.contains("Transfer failed") || status(&out) == "REFUSED",
        "{out}"
    );
    assert!(!out.contains("crm.boss.example."), "{out}");
    let ixfr = dig(srv.addr, &["boss.example", "IXFR=1"])
        .await
        .expect("dig");
    assert!(!ixfr.contains("crm.boss.example."), "{ixfr}");
    assert!(srv.handle.counters().transfers_refused >= 2);
    assert_eq!(srv.handle.counters().transfers, 0);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsig_is_required_and_signs_every_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = zone_with_hosts(dir.path(), 3000);
    let secret = "c3dpdGNoYmFjay10ZXN0LWtleS0zMi1ieXRlcy1sb25nIQ==";
    std::fs::write(dir.path().join("xfr.key"), secret).expect("key");
    let mut cfg = config(&zone, dir.path(), services());
    cfg.dns.tsig_keys = vec![TsigKey {
        name: "xfr.boss.example.".into(),
        algorithm: "hmac-sha256".into(),
        secret_file: dir.path().join("xfr.key"),
    }];
    let srv = Running::start(&cfg);
    let key = format!("hmac-sha256:xfr.boss.example.:{secret}");
    let Some(signed) = dig(srv.addr, &["-y", &key, "boss.example", "AXFR"]).await else {
        return;
    };
    assert!(
        !signed.contains("Transfer failed") && !signed.contains("tsig"),
        "{}",
        &signed[..400.min(signed.len())]
    );
    let recs = records(&signed);
    // dig prints each message's TSIG record; count the zone records only.
    let zone_recs = recs.iter().filter(|r| !r.contains(" TSIG ")).count();
    assert_eq!(zone_recs, 3000 + 2 + 2 + 6 + 3);
    assert!(
        recs.iter().filter(|r| r.contains(" TSIG ")).count() > 1,
        "every message signed"
    );
    let unsigned = dig(srv.addr, &["boss.example", "AXFR"]).await.expect("dig");
    assert!(
        !unsigned.contains("host1.boss.example."),
        "unsigned refused: {unsigned}"
    );
    let wrong = "hmac-sha256:xfr.boss.example.:d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ==";
    let bad = dig(srv.addr, &["-y", wrong, "boss.example", "AXFR"])
        .await
        .expect("dig");
    assert!(
        !bad.contains("host1.boss.example."),
        "bad key refused: {bad}"
    );
    srv.stop().await;
}
