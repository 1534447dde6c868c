//! Valid configs: defaults, env overrides, path resolution, and every example under `deploy/`.

use super::*;
use crate::config::{
    AllDown, ConfirmTimeout, Failback, LogFormat, Mode, Origin, Role, SinkKind, SiteRole,
    StoreSection,
};
use crate::model::{NodeId, SiteId};
use std::time::Duration;

#[test]
fn minimal_config_gets_documented_defaults() {
    let (dir, r) = load_text(MINIMAL, &[]);
    let c = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.node.id, NodeId::from("n1"));
    assert_eq!(c.node.domain.as_str(), "bj");
    assert_eq!(c.node.roles, vec![Role::Probe, Role::Authority]);
    assert_eq!(c.node.state_dir, PathBuf::from("/var/lib/switchback"));
    assert_eq!(c.store, StoreSection::Embedded);
    assert_eq!(c.votes.stale_after, Duration::from_secs(1));
    // No voters listed: this node alone votes.
    assert_eq!(c.votes.voters.len(), 1);
    assert_eq!(c.votes.voters[0].id, c.node.id);
    assert_eq!(c.votes.voters[0].domain, c.node.domain);
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.log.level, "info,hickory_server=warn");
    assert_eq!(c.dns.listen, vec!["127.0.0.1:5353".parse().expect("addr")]);
    assert_eq!(
        c.dns.udp_sockets,
        crate::config::raw::default_udp_sockets().0
    );
    assert_eq!(c.admin.listen, "127.0.0.1:9530".parse().expect("addr"));
    assert_eq!(c.admin.token_file, None);
    assert_eq!(c.sites[&SiteId::from("sh")].role, SiteRole::Backup);
    let s = &c.services[0];
    assert_eq!(s.ttl, Duration::from_secs(30));
    assert_eq!(s.degraded_ttl, Duration::from_secs(5));
    assert_eq!(s.probes, dir.path().join("probes/crm.toml"));
    let p = &s.policy;
    assert_eq!((p.mode, p.quorum, p.min_domains), (Mode::Auto, 1, 1));
    assert_eq!(p.hold_down, Duration::from_secs(1));
    assert_eq!(p.confirm_timeout, Duration::from_secs(300));
    assert_eq!(p.on_confirm_timeout, ConfirmTimeout::Abort);
    assert_eq!(p.failback, Failback::Manual);
    assert_eq!(p.failback_hold, Duration::from_secs(600));
    assert!(!p.hold_out_recovered && p.gates.is_empty());
    assert_eq!(p.all_down, AllDown::Keep);
    assert_eq!(c.primary(), Some(&SiteId::from("bj")));
}

#[test]
fn quorum_defaults_to_a_majority_of_voters() {
    let text = format!(
        "{MINIMAL}\n[votes]\nkey_files = [\"k\"]\nvoters = [{{ id = \"a\", domain = \"bj\" }}, {{ id = \"b\", domain = \"sh\" }}, {{ id = \"c\", domain = \"sh\" }}]\n"
    );
    let c = load_text(&text, &[]).1.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            c.services[0].policy.quorum,
            c.services[0].policy.min_domains
        ),
        (2, 2)
    );
}

#[test]
fn env_overrides_file_values() {
    let env = [
        ("SWITCHBACK__DNS__UDP_SOCKETS", "7"),
        ("SWITCHBACK__NODE__ID", "x"),
        ("SWITCHBACK__NODE__ROLES", "probe"),
        ("SWITCHBACK__DNS__LISTEN", "127.0.0.1:53,[::1]:53"),
        ("SWITCHBACK__VOTES__STALE_AFTER", "250ms"),
        ("SWITCHBACK__LOG__FORMAT", "json"),
        ("UNRELATED", "ignored"),
    ];
    let c = load_text(MINIMAL, &env).1.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.dns.udp_sockets, 7);
    assert_eq!(c.node.id.as_str(), "x");
    assert_eq!(c.node.roles, vec![Role::Probe]);
    assert_eq!(c.dns.listen.len(), 2);
    assert_eq!(c.votes.stale_after, Duration::from_millis(250));
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn env_problems_name_the_variable() {
    let p = problems_env(
        MINIMAL,
        &[
            ("SWITCHBACK__VOTES__STALE_AFTER", "5 parsecs"),
            ("SWITCHBACK__DNS__UDP_SOCKETS", "many"),
            ("SWITCHBACK__DNS__COLOUR", "blue"),
        ],
    );
    let text = ConfigErrors(p.clone()).to_string();
    assert_eq!(p.len(), 3, "{text}");
    let var = |k: &str| {
        p.iter()
            .find(|e| e.key() == k)
            .unwrap_or_else(|| panic!("no problem at {k}: {text}"))
            .at()
            .clone()
    };
    assert_eq!(
        var("votes.stale_after"),
        Origin::Env {
            var: "SWITCHBACK__VOTES__STALE_AFTER".into()
        }
    );
    assert_eq!(
        var("dns.udp_sockets"),
        Origin::Env {
            var: "SWITCHBACK__DNS__UDP_SOCKETS".into()
        }
    );
    assert!(
        matches!(
            p.iter().find(|e| e.key() == "dns.colour"),
            Some(ConfigError::UnknownKey { .. })
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "env SWITCHBACK__VOTES__STALE_AFTER: votes.stale_after: bad duration \"5 parsecs\""
        ),
        "{text}"
    );
}

#[test]
fn names_are_normalised_and_paths_resolved() {
    let text = edit(
        "names = [\"crm.boss.example.\"]",
        "names = [\"CRM.Boss.Example\"]",
    ) + "\n[admin]\ntoken_file = \"secrets/admin.token\"\n[dns]\nzones = [\"/abs/boss.zone\", \"z/boss.zone\"]\n";
    let (dir, r) = load_text(&text, &[]);
    let c = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.services[0].names, vec!["crm.boss.example.".to_owned()]);
    assert_eq!(
        c.admin.token_file,
        Some(dir.path().join("secrets/admin.token"))
    );
    assert_eq!(
        c.dns.zones,
        vec![
            PathBuf::from("/abs/boss.zone"),
            dir.path().join("z/boss.zone")
        ]
    );
}

#[test]
fn three_site_examples_load() {
    let dir = repo().join("deploy/three-site");
    for (file, site) in [
        ("bj-edge-1.toml", "bj"),
        ("sh-edge-1.toml", "sh"),
        ("arb-1.toml", "arb"),
    ] {
        let c =
            load(&dir.join(file), Some(HashMap::new())).unwrap_or_else(|e| panic!("{file}:\n{e}"));
        assert_eq!(c.node.site.as_str(), site);
        match &c.store {
            StoreSection::Etcd { endpoints, .. } => assert_eq!(endpoints.len(), 3),
            other => panic!("{file}: want etcd, got {other:?}"),
        }
        let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["crm", "billing", "accounting", "settlement"]);
        let modes: Vec<Mode> = c.services.iter().map(|s| s.policy.mode).collect();
        assert_eq!(modes, [Mode::Auto, Mode::Confirm, Mode::Manual, Mode::Auto]);
        assert_eq!(c.services[0].probes, dir.join("../../probes/crm.toml"));
        assert_eq!(c.dns.zones, vec![dir.join("../../zones/boss.example.zone")]);
        assert!(
            c.services
                .iter()
                .all(|s| s.names.iter().all(|n| n.ends_with(".boss.example.")))
        );
        assert!(matches!(c.alerts[0].kind, SinkKind::Pagerduty { .. }));
        assert_eq!(c.votes.voters.len(), 3);
    }
}

#[test]
fn every_example_under_deploy_loads() {
    let mut found = 0;
    let mut stack = vec![repo().join("deploy")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read deploy dir") {
            let p = e.expect("dir entry").path();
            // Node configs only: probes files live in `probes/` folders.
            if p.is_dir() && !p.ends_with("probes") {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                found += 1;
                if let Err(e) = load(&p, Some(HashMap::new())) {
                    panic!("{}:\n{e}", p.display());
                }
            }
        }
    }
    assert!(found >= 4, "only {found} example configs under deploy/");
}
