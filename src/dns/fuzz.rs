//! Property tests over random request bytes: never a panic, every packet answered or counted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_server::proto::rr::{Name, RecordType};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

use super::server::DnsServer;
use crate::config::*;

fn config(state: &Path) -> Config {
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/boss.example.zone");
    let svc = Service {
        name: "crm".into(),
        names: vec!["crm.boss.example.".into()],
        ttl: Duration::from_secs(30),
        degraded_ttl: Duration::from_secs(5),
        addresses: BTreeMap::from([
            ("bj".into(), vec!["10.1.0.10".parse().expect("ip")]),
            ("sh".into(), vec!["fd00::10".parse().expect("ip")]),
        ]),
        vip: None,
        probes: "p.toml".into(),
        policy: Policy {
            mode: Mode::Auto,
            quorum: 1,
            min_domains: 1,
            hold_down: Duration::ZERO,
            confirm_timeout: Duration::ZERO,
            on_confirm_timeout: ConfirmTimeout::Abort,
            failback: Failback::Manual,
            failback_hold: Duration::ZERO,
            hold_out_recovered: false,
            gates: vec![],
            all_down: AllDown::Keep,
        },
    };
    Config {
        source: state.join("c.toml"),
        node: NodeSection {
            id: "n".into(),
            site: "bj".into(),
            domain: "bj".into(),
            roles: vec![Role::Authority],
            state_dir: state.to_owned(),
        },
        store: StoreSection::Embedded,
        votes: VotesSection {
            authorities: vec![],
            key_files: vec![],
            stale_after: Duration::from_secs(1),
            voters: vec![],
        },
        log: LogSection {
            format: LogFormat::Text,
            level: "warn".into(),
        },
        dns: DnsSection {
            listen: vec!["127.0.0.1:0".parse().expect("addr")],
            zones: vec![zone],
            notify: vec![],
            allow_transfer: vec![],
            tsig_keys: vec![],
            udp_sockets: 1,
        },
        admin: AdminSection {
            listen: "127.0.0.1:0".parse().expect("addr"),
            token_file: None,
        },
        sites: BTreeMap::from([(
            "bj".into(),
            Site {
                id: "bj".into(),
                role: SiteRole::Primary,
                gateways: vec![],
            },
        )]),
        services: vec![svc],
        alerts: vec![],
    }
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
fn check(
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

fn setup() -> (tokio::runtime::Runtime, DnsServer, tempfile::TempDir) {
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
