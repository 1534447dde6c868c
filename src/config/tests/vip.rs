//! `service.vip` (route and address mode) and `[route]`: what is accepted, and each problem
//! named by its key.

use super::*;
use crate::config::{Vip, VipAddress};

fn loaded(text: &str) -> Config {
    let (_dir, r) = load_text(text, &[]);
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn route_mode_defaults_and_options() {
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\" }}, dev = \"eth1\", table = 100, metric = 20 }}\n"
    );
    let Some(Vip::Route(r)) = loaded(&text).services[0].vip.clone() else {
        panic!("route mode")
    };
    assert_eq!(
        (r.dev.as_deref(), r.table, r.metric),
        (Some("eth1"), 100, 20)
    );
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"fd09::10/128\", next_hop = {{ bj = \"fd01::1\", sh = \"fd02::1\" }} }}\n"
    );
    let Some(Vip::Route(r)) = loaded(&text).services[0].vip.clone() else {
        panic!("route mode")
    };
    // The kernel stores an IPv6 route without a metric as 1024; replace must match it.
    assert_eq!((r.dev, r.table, r.metric), (None, 254, 1024));
    let c = loaded(MINIMAL);
    assert_eq!(c.route.protocol, 57);
    assert_eq!(c.route.announce_count, 3);
}

#[test]
fn address_mode() {
    let text = format!("{MINIMAL}vip = {{ address = \"10.9.0.10/24\", interface = \"eth0\" }}\n");
    assert_eq!(
        loaded(&text).services[0].vip,
        Some(Vip::Address(VipAddress {
            address: "10.9.0.10/24".parse().unwrap(),
            interface: "eth0".into(),
        }))
    );
    let text = format!("{MINIMAL}vip = {{ address = \"10.9.0.10/24\" }}\n");
    one(&text, "service[0].vip.interface");
    let text = format!(
        "{MINIMAL}vip = {{ address = \"10.9.0.10/24\", interface = \"eth0\", metric = 5 }}\n"
    );
    one(&text, "service[0].vip.metric");
    let text = format!(
        "{MINIMAL}vip = {{ address = \"10.9.0.10/24\", interface = \"eth0\", prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\" }} }}\n"
    );
    let e = one(&text, "service[0].vip");
    assert!(e.to_string().contains("not both"), "{e}");
}

#[test]
fn overlapping_vips_are_refused() {
    let second = "\n[[service]]\nname = \"billing\"\nnames = [\"billing.boss.example.\"]\naddresses = { bj = [\"10.1.0.20\"], sh = [\"10.2.0.20\"] }\nprobes = \"probes/billing.toml\"\n";
    let vip = |p: &str| {
        format!(
            "vip = {{ prefix = \"{p}\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\" }} }}\n"
        )
    };
    let text = format!(
        "{MINIMAL}{}{second}{}",
        vip("10.9.0.0/24"),
        vip("10.9.0.10/32")
    );
    let e = one(&text, "service[1].vip");
    assert!(
        e.to_string()
            .contains("overlaps 10.9.0.0/24 of service[0] (crm)"),
        "{e}"
    );
    at_line(
        &e,
        text.rfind("vip =")
            .map(|i| text[..i].lines().count() + 1)
            .unwrap(),
    );
}

fn at_line(e: &ConfigError, line: usize) {
    assert_eq!(e.at().line(), Some(line), "{e}");
}

#[test]
fn route_section_is_checked() {
    let e = one(
        &format!("{MINIMAL}\n[route]\nprotocol = 2\n"),
        "route.protocol",
    );
    assert!(e.to_string().contains("5..=255"), "{e}");
    one(
        &format!("{MINIMAL}\n[route]\nprotocol = 300\n"),
        "route.protocol",
    );
    one(
        &format!("{MINIMAL}\n[route]\nresync = \"0s\"\n"),
        "route.resync",
    );
    one(
        &format!("{MINIMAL}\n[route]\nannounce_interval = \"soon\"\n"),
        "route.announce_interval",
    );
    let c = loaded(&format!(
        "{MINIMAL}\n[route]\nprotocol = 99\nreplace_foreign = true\nannounce_count = 5\n"
    ));
    assert_eq!(
        (
            c.route.protocol,
            c.route.replace_foreign,
            c.route.announce_count
        ),
        (99, true, 5)
    );
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\" }}, table = 255 }}\n"
    );
    one(&text, "service[0].vip.table");
}
