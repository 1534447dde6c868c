//! dig/kdig against the authority in-process: answers, health rules, switches, protocol details.

use crate::dns_support::{
    Running, config, dig, flags, require, section, service, services, shipped_zone, status, tool,
    view,
};
use std::time::Duration;
use switchback::config::AllDown;
use switchback::dns::DnsServer;

/// The shipped zone plus a name with 120 A records (to force truncation over UDP).
fn zone_with_big_rrset(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(shipped_zone()).expect("shipped zone");
    for i in 0..120 {
        text.push_str(&format!("big IN A 10.9.{}.{}\n", i / 200, i % 200 + 1));
    }
    let path = dir.join("boss.example.zone");
    std::fs::write(&path, text).expect("write zone");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_answers_follow_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let Some(out) = dig(srv.addr, &["crm.boss.example", "A"]).await else {
        return;
    };
    assert_eq!(status(&out), "NOERROR", "{out}");
    assert_eq!(
        section(&out, "ANSWER"),
        vec!["crm.boss.example. 30 IN A 10.1.0.10"],
        "{out}"
    );
    let f = flags(&out);
    assert!(
        f.contains("aa") && !f.contains("ra"),
        "authoritative, no recursion: {f}"
    );
    let serial0 = srv.handle.serial("boss.example.").expect("serial");

    // Switch to the backup: the next query sees it, the serial grew.
    assert!(
        srv.handle
            .apply(&[view("crm", "sh", 1, false, &["sh"])])
            .expect("apply")
    );
    let out = dig(srv.addr, &["crm.boss.example", "A"])
        .await
        .expect("dig");
    assert_eq!(
        section(&out, "ANSWER"),
        vec!["crm.boss.example. 30 IN A 10.2.0.10"],
        "{out}"
    );
    let serial1 = srv.handle.serial("boss.example.").expect("serial");
    assert_eq!(serial1, serial0.wrapping_add(1));
    let soa = dig(srv.addr, &["boss.example", "SOA", "+short"])
        .await
        .expect("dig");
    assert!(
        soa.contains(&format!(" {serial1} ")),
        "SOA shows {serial1}: {soa}"
    );

    // Same view again: nothing changes, no serial bump.
    assert!(
        !srv.handle
            .apply(&[view("crm", "sh", 1, false, &["sh"])])
            .expect("apply")
    );
    // An older epoch is ignored.
    assert!(
        !srv.handle
            .apply(&[view("crm", "bj", 0, false, &["bj"])])
            .expect("apply")
    );
    assert_eq!(srv.handle.serial("boss.example.").expect("serial"), serial1);

    // Degraded: the short TTL, over TCP as well.
    assert!(
        srv.handle
            .apply(&[view("crm", "sh", 2, true, &["sh"])])
            .expect("apply")
    );
    let out = dig(srv.addr, &["+tcp", "crm.boss.example", "A"])
        .await
        .expect("dig");
    assert_eq!(
        section(&out, "ANSWER"),
        vec!["crm.boss.example. 5 IN A 10.2.0.10"],
        "{out}"
    );
    // Health only (the degraded TTL): served live, but no serial bump, so no NOTIFY or
    // transfer for the secondaries.
    assert_eq!(
        srv.handle.serial("boss.example.").expect("serial"),
        serial1,
        "a TTL-only change must not bump the serial"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_down_keep_all_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let views = [
        view("crm", "sh", 1, false, &[]),
        view("billing", "sh", 1, false, &[]),
        view("accounting", "sh", 1, false, &[]),
    ];
    assert!(srv.handle.apply(&views).expect("apply"));
    let Some(keep) = dig(srv.addr, &["crm.boss.example", "A"]).await else {
        return;
    };
    assert_eq!(
        section(&keep, "ANSWER"),
        vec!["crm.boss.example. 5 IN A 10.2.0.10"],
        "{keep}"
    );
    let all = dig(srv.addr, &["accounting.boss.example", "A"])
        .await
        .expect("dig");
    let mut got = section(&all, "ANSWER");
    got.sort();
    assert_eq!(
        got,
        vec![
            "accounting.boss.example. 5 IN A 10.1.0.12",
            "accounting.boss.example. 5 IN A 10.2.0.12"
        ],
        "{all}"
    );
    let none = dig(srv.addr, &["billing.boss.example", "A"])
        .await
        .expect("dig");
    assert_eq!(status(&none), "NOERROR", "NODATA, not NXDOMAIN: {none}");
    assert!(section(&none, "ANSWER").is_empty(), "{none}");
    let auth = section(&none, "AUTHORITY");
    assert_eq!(auth.len(), 1, "{none}");
    assert!(
        auth[0].starts_with("boss.example. 10 IN SOA"),
        "negative TTL = SOA minimum: {none}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_answers_refused_any_and_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let Some(nx) = dig(srv.addr, &["nope.boss.example", "A"]).await else {
        return;
    };
    assert_eq!(status(&nx), "NXDOMAIN", "{nx}");
    let auth = section(&nx, "AUTHORITY");
    assert!(
        auth.len() == 1 && auth[0].starts_with("boss.example. 10 IN SOA"),
        "{nx}"
    );

    let nodata = dig(srv.addr, &["portal.boss.example", "MX"])
        .await
        .expect("dig");
    assert_eq!(status(&nodata), "NOERROR", "{nodata}");
    assert!(section(&nodata, "ANSWER").is_empty());
    assert!(section(&nodata, "AUTHORITY")[0].contains("SOA"), "{nodata}");
    // A service name has no TXT: NODATA with the SOA too.
    let svc = dig(srv.addr, &["crm.boss.example", "TXT"])
        .await
        .expect("dig");
    assert_eq!(status(&svc), "NOERROR", "{svc}");
    assert!(section(&svc, "AUTHORITY")[0].contains("SOA"), "{svc}");

    let refused = dig(srv.addr, &["www.example.com", "A"]).await.expect("dig");
    assert_eq!(status(&refused), "REFUSED", "{refused}");
    assert!(srv.handle.counters().refused >= 1);

    // Letter case of the question is echoed, fast path and Catalog path alike.
    let mixed = dig(srv.addr, &["CrM.BoSs.ExAmPlE", "A"])
        .await
        .expect("dig");
    assert_eq!(
        section(&mixed, "ANSWER"),
        vec!["CrM.BoSs.ExAmPlE. 30 IN A 10.1.0.10"],
        "{mixed}"
    );
    assert!(
        mixed.contains(";CrM.BoSs.ExAmPlE."),
        "question echoed: {mixed}"
    );
    let mixed = dig(srv.addr, &["NoC.Boss.Example", "TXT"])
        .await
        .expect("dig");
    assert!(
        mixed.contains(";NoC.Boss.Example."),
        "question echoed: {mixed}"
    );
    assert_eq!(section(&mixed, "ANSWER").len(), 1, "{mixed}");

    // ANY is answered minimally (RFC 8482): one rrset, never the whole node.
    let any = dig(srv.addr, &["crm.boss.example", "ANY"])
        .await
        .expect("dig");
    assert_eq!(
        section(&any, "ANSWER"),
        vec!["crm.boss.example. 30 IN A 10.1.0.10"],
        "{any}"
    );
    let any = dig(srv.addr, &["+tcp", "portal.boss.example", "ANY"])
        .await
        .expect("dig");
    let answers = section(&any, "ANSWER");
    assert_eq!(answers.len(), 1, "{any}");
    assert!(answers[0].contains("HINFO \"RFC8482\""), "{any}");

    // Static names and CNAMEs come from the zone file.
    let www = dig(srv.addr, &["www.boss.example", "A"])
        .await
        .expect("dig");
    assert!(
        section(&www, "ANSWER")[0].contains("CNAME portal.boss.example."),
        "{www}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edns_truncation_and_tcp_with_kdig() {
    let Some(kdig) = require("kdig") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = zone_with_big_rrset(dir.path());
    let srv = Running::start(&config(&zone, dir.path(), services()));
    // No EDNS: 512 bytes, TC=1.
    let out = tool(
        &kdig,
        srv.addr,
        &["+noedns", "+notcp", "+ignore", "big.boss.example", "A"],
    )
    .await;
    assert!(flags(&out).contains("tc"), "TC=1 without EDNS: {out}");
    // EDNS 1232: still too big for 120 records, TC=1 and our OPT advertises 1232.
    let out = tool(
        &kdig,
        srv.addr,
        &["+edns", "+bufsize=4096", "+ignore", "big.boss.example", "A"],
    )
    .await;
    assert!(flags(&out).contains("tc"), "{out}");
    assert!(
        out.contains("UDP size: 4096") || out.contains("udp: 4096") || out.contains("1232"),
        "OPT present: {out}"
    );
    // TCP gets all of it.
    let out = tool(&kdig, srv.addr, &["+tcp", "big.boss.example", "A"]).await;
    assert_eq!(section(&out, "ANSWER").len(), 120, "{out}");
    // A small answer over EDNS is not truncated and carries an OPT.
    let out = tool(&kdig, srv.addr, &["+edns", "crm.boss.example", "A"]).await;
    assert!(!flags(&out).contains("tc"), "{out}");
    assert!(out.contains("EDNS PSEUDOSECTION"), "{out}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_are_dropped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    for junk in [
        &b"\x00"[..],
        b"hello world, not dns",
        &[0xffu8; 40],
        &[0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    ] {
        sock.send_to(junk, srv.addr).await.expect("send");
    }
    // A good query afterwards is answered, and only it is.
    let Some(out) = dig(srv.addr, &["crm.boss.example", "A"]).await else {
        return;
    };
    assert_eq!(status(&out), "NOERROR");
    let mut buf = [0u8; 512];
    let none = tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf)).await;
    assert!(none.is_err(), "no reply to garbage");
    assert_eq!(srv.handle.counters().malformed_dropped, 4);
    srv.stop().await;
}

#[tokio::test]
async fn service_name_in_zone_file_is_refused_at_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = vec![service("portal", AllDown::Keep, "10.1.0.1", "10.2.0.1")];
    let err = DnsServer::bind(&config(&shipped_zone(), dir.path(), svc))
        .err()
        .expect("error");
    let text = err.to_string();
    assert!(
        text.contains("portal.boss.example.") && text.contains("boss.example.zone:"),
        "{text}"
    );
    let outside = vec![switchback::config::Service {
        names: vec!["crm.elsewhere.example.".into()],
        ..service("crm", AllDown::Keep, "10.1.0.1", "10.2.0.1")
    }];
    let err = DnsServer::bind(&config(&shipped_zone(), dir.path(), outside))
        .err()
        .expect("error");
    assert!(
        err.to_string().contains("not inside any served zone"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_ipv4_and_ipv6_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&shipped_zone(), dir.path(), services());
    cfg.dns.listen.push("[::1]:0".parse().expect("addr"));
    let server = DnsServer::bind(&cfg).expect("bind");
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    assert!(addrs.iter().all(|a| a.port() != 0));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    for addr in &addrs {
        let Some(udp) = dig(*addr, &["crm.boss.example", "A"]).await else {
            return;
        };
        assert_eq!(
            section(&udp, "ANSWER"),
            vec!["crm.boss.example. 30 IN A 10.1.0.10"],
            "{addr}: {udp}"
        );
        let tcp = dig(*addr, &["+tcp", "nx.boss.example", "A"])
            .await
            .expect("dig");
        assert_eq!(status(&tcp), "NXDOMAIN", "{addr}: {tcp}");
    }
    shutdown.cancel();
    let done = tokio::time::timeout(Duration::from_secs(10), task).await;
    assert!(
        matches!(done, Ok(Ok(Ok(())))),
        "shutdown finished cleanly: {done:?}"
    );
}

/// A new epoch whose answer is the one already served (committed after this node started on
/// the same site, a maintenance bump) is still reported as enacted, once: status, the roster
/// and anyone waiting for "enacted … epoch=N" see every epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_enactor_reports_every_new_epoch_even_with_the_same_answer() {
    use switchback::enact::{DnsEnactor, Reconciler};
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = Running::start(&config(&shipped_zone(), dir.path(), services()));
    let mut enactor = DnsEnactor::new(srv.handle.clone());
    let set = |epoch| {
        let d = view("crm", "bj", epoch, false, &["bj", "sh"]);
        switchback::policy::DesiredSet::from([(d.service.clone(), d)])
    };
    let _ = enactor.apply(&set(1)).await;
    let again = enactor.apply(&set(2)).await;
    assert!(
        again
            .iter()
            .any(|a| a.service.as_str() == "crm" && a.epoch.0 == 2),
        "epoch 2 with bj's answer unchanged: {again:?}"
    );
    let repeat = enactor.apply(&set(2)).await;
    assert!(repeat.is_empty(), "reported once: {repeat:?}");
    srv.stop().await;
}
