//! The one-screen summary, on the three-site example with parsed files built here.

use super::*;
use crate::config::load;

#[test]
fn summary_fits_one_screen() {
    let path = repo().join("deploy/three-site/bj-edge-1.toml");
    let config = load(&path, Some(HashMap::new())).unwrap_or_else(|e| panic!("{e}"));
    let probes = config
        .services
        .iter()
        .map(|s| {
            let checks = vec![
                def(&format!("{}-http", s.name), Some("bj"), Layer::App, 1),
                def(&format!("{}-http", s.name), Some("sh"), Layer::App, 2),
                def("gw", Some("sh"), Layer::Link, 3),
                def("uplink", None, Layer::Link, 4),
            ];
            (
                s.probes.clone(),
                ProbesFacts {
                    path: s.probes.clone(),
                    checks,
                },
            )
        })
        .collect();
    let summary = CheckSummary {
        config,
        probes,
        zones: vec![zone(
            "boss.example.",
            &["boss.example.", "ns1.boss.example."],
        )],
        // The body alone: the warnings that follow it are tested in `inert.rs`.
        warnings: Vec::new(),
        read_as: String::new(),
    };
    let shown = summary.to_string();
    assert!(shown.lines().count() <= 24, "more than a screen:\n{shown}");
    assert!(shown.lines().all(|l| l.chars().count() <= 160), "{shown}");
    for want in [
        "bj primary",
        "sh backup",
        "arb arbiter",
        "voters:   3 (bj-edge-1@bj, sh-edge-1@sh, arb-1@arb)",
        "crm          crm.boss.example. -> bj 10.1.0.10 | sh 10.2.0.10 vip 10.9.0.10/32",
        "confirm, quorum 2 from 2 domain(s)",
        "gates replication-lag",
        "crm          ../../probes/crm.toml: bj 1/0/0, self 0/0/1, sh 1/0/1",
        "boss.example. (2 static names)",
        "store etcd (3 endpoints)",
    ] {
        assert!(shown.contains(want), "missing {want:?} in:\n{shown}");
    }
}
