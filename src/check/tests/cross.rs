//! The cross-reference core, tested on parsed data built here, so these tests do not depend
//! on the probe and DNS parsers.

use super::*;
use crate::check::cross::check as cross_check;
use crate::config::{ConfigErrors, Ctx};

const GATED: &str = "policy = { gates = [\"replication-lag\"] }\n";

/// Loads `text` (+ `[dns] zones`), then runs the cross-reference core on the given parsed files.
fn cross(text: &str, checks: Vec<CheckFacts>, zones: Vec<ZoneFacts>) -> Vec<ConfigError> {
    let text = format!(
        "{text}\n[dns]\nzones = [\"{}\"]\n",
        "zones/boss.example.zone"
    );
    let (dir, r) = load_text(&text, &[]);
    let config = r.unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("switchback.toml");
    let locator = Locator::new(&text).expect("valid toml");
    let mut ctx = Ctx::new(&path, &locator, &HashMap::new());
    let probes: BTreeMap<PathBuf, ProbesFacts> = config
        .services
        .iter()
        .map(|s| {
            (
                s.probes.clone(),
                ProbesFacts {
                    path: s.probes.clone(),
                    checks: checks.clone(),
                },
            )
        })
        .collect();
    cross_check(&config, &probes, &zones, &mut ctx);
    ctx.errors
}

fn good_checks() -> Vec<CheckFacts> {
    vec![
        def("crm-http", Some("bj"), Layer::App, 1),
        def("crm-http", Some("sh"), Layer::App, 8),
        def("replication-lag", Some("sh"), Layer::App, 15),
        def("uplink", None, Layer::Link, 22),
    ]
}

#[test]
fn consistent_files_pass() {
    let text = format!("{MINIMAL}{GATED}");
    let errors = cross(
        &text,
        good_checks(),
        vec![zone(
            "boss.example.",
            &["boss.example.", "ns1.boss.example."],
        )],
    );
    assert!(errors.is_empty(), "{}", ConfigErrors(errors));
}

#[test]
fn dns_name_outside_every_zone() {
    let errors = cross(MINIMAL, good_checks(), vec![zone("other.example.", &[])]);
    assert_eq!(errors.len(), 1, "{}", ConfigErrors(errors.clone()));
    assert_eq!(errors[0].key(), "service[0].names[0]");
    assert!(
        errors[0]
            .to_string()
            .contains("outside every zone (other.example.)"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0].at().line(), Some(line_of(MINIMAL, "names =")));
}

#[test]
fn service_name_that_is_a_static_record() {
    let errors = cross(
        MINIMAL,
        good_checks(),
        vec![zone("boss.example.", &["crm.boss.example."])],
    );
    assert_eq!(errors.len(), 1, "{}", ConfigErrors(errors.clone()));
    assert!(
        errors[0].to_string().contains("is a static record"),
        "{}",
        errors[0]
    );
}

#[test]
fn zone_without_origin() {
    let errors = cross(MINIMAL, good_checks(), vec![zone("", &[])]);
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ConfigError::InReferencedFile { .. })),
        "{}",
        ConfigErrors(errors.clone())
    );
}

#[test]
fn gate_not_defined_for_the_target_site() {
    let text = format!("{MINIMAL}{GATED}");
    let mut checks = good_checks();
    checks.retain(|c| c.name.as_str() != "replication-lag");
    checks.push(def("replication-lag", Some("bj"), Layer::App, 30));
    let errors = cross(&text, checks, vec![zone("boss.example.", &[])]);
    assert_eq!(errors.len(), 1, "{}", ConfigErrors(errors.clone()));
    assert_eq!(errors[0].key(), "service[0].policy.gates[0]");
    assert!(
        errors[0]
            .to_string()
            .contains("gate `replication-lag` is not a check for target site `sh`"),
        "{}",
        errors[0]
    );
}

#[test]
fn probe_check_naming_an_unknown_site() {
    let mut checks = good_checks();
    checks.push(def("hk-ping", Some("hk"), Layer::Host, 40));
    let errors = cross(MINIMAL, checks, vec![zone("boss.example.", &[])]);
    assert_eq!(errors.len(), 1, "{}", ConfigErrors(errors.clone()));
    assert_eq!(errors[0].at().line(), Some(40));
    assert_eq!(errors[0].key(), "check[4].site");
}
