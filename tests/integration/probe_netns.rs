//! Link-layer checks inside network namespaces this test creates (and always deletes):
//! `iface` follows a veth's carrier through rtnetlink events, and a windowed ICMP check trips
//! its loss threshold when an nftables netdev rule drops half the packets.

use crate::probe_support::{Netns, app, config, have, is_root, probes, require, sh, until};
use switchback::model::{Health, Observation, SiteId};
use switchback::probe::{Prober, StatusHandle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn link(o: &Observation) -> Health {
    o.sites[&SiteId::from("bj")].link
}

fn can_run() -> bool {
    require("root (network namespaces)", is_root()) && require("ip (iproute2)", have("ip"))
}

/// Starts a prober over `text` on the current (namespaced) thread's runtime.
fn start(
    dir: &std::path::Path,
    text: &str,
) -> (mpsc::Receiver<Observation>, CancellationToken, StatusHandle) {
    let (path, file) = probes(dir, "crm.toml", text);
    let cfg = config(&dir.join("node.toml"), &[("crm", &path, &[])]);
    let prober = Prober::new(&cfg, vec![file]).expect("prober");
    let status = prober.status();
    let (tx, rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { prober.run(tx, s).await.expect("run") });
    (rx, stop, status)
}

#[test]
fn iface_follows_carrier_through_link_events() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("if");
    ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(&["link", "set", "va", "up"]);
    ns.ip(&["link", "set", "vb", "up"]);
    let name = ns.name.clone();
    ns.run(move || {
        Box::pin(async move {
            let dir = tempfile::tempdir().expect("tmp");
            // An interval of an hour: only a link event can move this check within the test.
            let text = "[[check]]\nname = \"transit\"\nsite = \"bj\"\nlayer = \"link\"\nkind = \"iface\"\niface = \"va\"\ninterval = \"1h\"\nrise = 1\nfall = 1\n";
            let (mut rx, stop, status) = start(dir.path(), text);
            until(&mut rx, "va up", |o| link(o) == Health::Up).await;
            sh(&["ip", "-n", &name, "link", "set", "vb", "down"]);
            let o = until(&mut rx, "va carrier lost", |o| link(o) == Health::Down).await;
            assert_eq!(app(&o, "crm", "bj"), Health::Unknown, "link checks are not app verdicts");
            let why = status.snapshot()[0].last_change.clone().expect("changed").why;
            assert!(why.contains("carrier 0"), "{why}");
            sh(&["ip", "-n", &name, "link", "set", "vb", "up"]);
            until(&mut rx, "va carrier back", |o| link(o) == Health::Up).await;
            sh(&["ip", "-n", &name, "link", "del", "va"]);
            until(&mut rx, "va deleted", |o| link(o) == Health::Down).await;
            stop.cancel();
        })
    });
}

#[test]
fn icmp_window_trips_on_nft_injected_loss() {
    if !(can_run() && require("nft (nftables)", have("nft"))) {
        return;
    }
    let probe_ns = Netns::new("lp");
    let site_ns = Netns::new("ls");
    probe_ns.ip(&[
        "link",
        "add",
        "va",
        "type",
        "veth",
        "peer",
        "name",
        "vb",
        "netns",
        &site_ns.name,
    ]);
    probe_ns.ip(&["addr", "add", "10.200.0.1/24", "dev", "va"]);
    site_ns.ip(&["addr", "add", "10.200.0.2/24", "dev", "vb"]);
    probe_ns.ip(&["link", "set", "va", "up"]);
    site_ns.ip(&["link", "set", "vb", "up"]);
    let site = site_ns.name.clone();
    probe_ns.run(move || {
        Box::pin(async move {
            let dir = tempfile::tempdir().expect("tmp");
            let text = "[[check]]\nname = \"gw\"\nsite = \"bj\"\nlayer = \"link\"\nkind = \"icmp\"\ntarget = \"10.200.0.2\"\ninterval = \"40ms\"\ntimeout = \"30ms\"\nwindow = 20\nmax_loss = 20\nmax_rtt = \"25ms\"\nrise = 3\nfall = 3\n";
            let (mut rx, stop, status) = start(dir.path(), text);
            until(&mut rx, "gateway up", |o| link(o) == Health::Up).await;
            let nft = |rules: &str| sh(&["ip", "netns", "exec", &site, "nft", rules]);
            nft("add table netdev loss");
            nft("add chain netdev loss in { type filter hook ingress device vb priority 0 ; }");
            nft("add rule netdev loss in numgen random mod 100 < 50 drop");
            until(&mut rx, "loss over max_loss", |o| link(o) == Health::Down).await;
            let why = status.snapshot()[0].last_change.clone().expect("changed").why;
            assert!(why.contains("max_loss"), "tripped by loss: {why}");
            nft("delete table netdev loss");
            until(&mut rx, "loss gone", |o| link(o) == Health::Up).await;
            stop.cancel();
        })
    });
}
