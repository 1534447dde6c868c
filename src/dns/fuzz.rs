//! Property tests over random request bytes: never a panic, every packet answered or counted.

use std::path::Path;

use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_server::proto::rr::{Name, RecordType};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

use super::server::DnsServer;
use crate::config::Config;
use crate::fixture;

fn config(state: &Path) -> Config {
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone");
    let crm = fixture::service(
        "crm",
        "10.1.0.10".parse().expect("ip"),
        "fd00::10".parse().expect("ip"),
        fixture::policy(),
    );
    let mut c = fixture::dns_config(&zone, state, vec![crm]);
    c.dns.allow_transfer.clear();
    c
}

fn query(name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
    let name = Name::from_ascii(name).unwrap_or_else(|_| Name::root());
    m.add_query(Query::query(name, RecordType::from(qtype)));
    if edns {
        m.set_edns(Edns::new());
    }
    m.to_vec().unwrap_or_default()
}

/// Feeds one packet through the UDP answer path; checks "answered or counted".
pub(crate) fn check(
    rt: &tokio::runtime::Runtime,
    server: &DnsServer,
    raw: &[u8],
) -> Result<(), TestCaseError> {
    let handle = server.handle();
    let shared = handle.shared();
    let before = handle.counters().malformed_dropped;
    let mut out = Vec::new();
    let src = "127.0.0.1:5353".parse().expect("addr");
    let replied = rt.block_on(super::udp::answer(&shared, raw, src, &mut out));
    if replied {
        let m = Message::from_vec(&out);
        prop_assert!(m.is_ok(), "reply parses");
        prop_assert_eq!(out.get(..2), raw.get(..2), "reply carries the query id");
        prop_assert!(out[2] & 0x80 != 0, "QR set");
        prop_assert!(out.len() <= 1232, "UDP reply within the EDNS cap");
    } else {
        prop_assert_eq!(
            handle.counters().malformed_dropped,
            before + 1,
            "drop counted"
        );
    }
    Ok(())
}

pub(crate) fn setup() -> (tokio::runtime::Runtime, DnsServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = DnsServer::bind(&config(dir.path())).expect("bind");
    (rt, server, dir)
}

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

#[test]
fn random_bytes_never_panic() {
    let (rt, server, _dir) = setup();
    let bytes = proptest::collection::vec(any::<u8>(), 0..600);
    let result = runner().run(&bytes, |raw| check(&rt, &server, &raw));
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn mutated_queries_never_panic() {
    let (rt, server, _dir) = setup();
    let names = prop::sample::select(vec![
        "crm.boss.example.",
        "CRM.boss.example.",
        "boss.example.",
        "portal.boss.example.",
        "nx.boss.example.",
        "example.com.",
        "www.boss.example.",
    ]);
    let qtypes = prop::sample::select(vec![1u16, 28, 6, 2, 16, 255, 252, 251, 15, 65535, 0]);
    let flips = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4);
    let strategy = (
        names,
        qtypes,
        any::<bool>(),
        flips,
        any::<Option<prop::sample::Index>>(),
    );
    let result = runner().run(&strategy, |(name, qtype, edns, flips, cut)| {
        let mut raw = query(name, qtype, edns);
        for (at, byte) in flips {
            let i = at.index(raw.len());
            raw[i] = byte;
        }
        if let Some(cut) = cut {
            raw.truncate(cut.index(raw.len()).max(2));
        }
        check(&rt, &server, &raw)
    });
    assert!(result.is_ok(), "{result:?}");
}
