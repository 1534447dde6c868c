//! No query sees half of a switch: answers under a storm of switches are always one site's set.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hickory_server::proto::op::{Message, MessageType, OpCode, Query};
use hickory_server::proto::rr::{Name, RData, RecordType};
use switchback::config::AllDown;

use crate::dns_support::{Running, config, service, shipped_zone, view};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_never_mix_sites_during_switches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut crm = service("crm", AllDown::Keep, "10.1.0.10", "10.2.0.10");
    crm.addresses
        .get_mut(&"bj".into())
        .expect("bj")
        .push("10.1.0.11".parse().expect("ip"));
    crm.addresses
        .get_mut(&"sh".into())
        .expect("sh")
        .push("10.2.0.11".parse().expect("ip"));
    let srv = Running::start(&config(&shipped_zone(), dir.path(), vec![crm]));
    let bj: BTreeSet<IpAddr> = ["10.1.0.10", "10.1.0.11"]
        .iter()
        .map(|s| s.parse().expect("ip"))
        .collect();
    let sh: BTreeSet<IpAddr> = ["10.2.0.10", "10.2.0.11"]
        .iter()
        .map(|s| s.parse().expect("ip"))
        .collect();

    let addr = srv.addr;
    let asker = tokio::spawn(async move {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        sock.connect(addr).await.expect("connect");
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 1500];
        for id in 0..3000u16 {
            let mut q = Message::new(id, MessageType::Query, OpCode::Query);
            q.add_query(Query::query(
                Name::from_ascii("crm.boss.example.").expect("name"),
                RecordType::A,
            ));
            sock.send(&q.to_vec().expect("encode")).await.expect("send");
            let n = sock.recv(&mut buf).await.expect("recv");
            let m = Message::from_vec(&buf[..n]).expect("decode");
            assert_eq!(m.metadata.id, id);
            let set: BTreeSet<IpAddr> = m
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::from(a.0)),
                    _ => None,
                })
                .collect();
            seen.push(set);
        }
        seen
    });
    let mut epoch = 1;
    while !asker.is_finished() {
        let site = if epoch % 2 == 0 { "bj" } else { "sh" };
        srv.handle
            .apply(&[view("crm", site, epoch, false, &[site])])
            .expect("apply");
        epoch += 1;
        tokio::task::yield_now().await;
    }
    let seen = asker.await.expect("asker");
    let (mut on_bj, mut on_sh) = (0, 0);
    for set in &seen {
        if *set == bj {
            on_bj += 1;
        } else if *set == sh {
            on_sh += 1;
        } else {
            panic!("a query saw half a switch: {set:?}");
        }
    }
    assert!(epoch > 10, "switches happened during the queries: {epoch}");
    assert!(
        on_bj > 0 && on_sh > 0,
        "both sites seen: bj {on_bj}, sh {on_sh}"
    );
    srv.stop().await;
}
