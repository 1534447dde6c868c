//! VIP enactment with real kernel routes, inside network namespaces these tests create (and
//! always delete): the real `switchback` runs in an edge-router namespace between a client and
//! two site namespaces on one LAN; real BIRD 2 carries its routes to an upstream namespace;
//! address mode moves a VIP between two hosts and the client's neighbour entry follows.

use crate::probe_support::{have, require};
use crate::route_support::{Node, Ns, Proc, SiteServer, ask, can_run, monitor};
use std::net::SocketAddr;
use std::process::Command;

/// A port in s10's range (inside the test's own namespaces anyway).
const PORT: u16 = 22080;

const ZONE: &str = "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 2026112501 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n";

/// The edge lab: client ─ edge ─ LAN bridge (10.10.0.0/24, fd10::/64) ─ bj (.2), sh (.3),
/// and optionally an upstream router (.4). Each site holds both VIPs on its loopback.
pub(crate) struct Lab {
    pub(crate) client: Ns,
    pub(crate) edge: Ns,
    pub(crate) bj: Ns,
    pub(crate) sh: Ns,
    pub(crate) up: Option<Ns>,
}

impl Lab {
    pub(crate) fn new(upstream: bool) -> Lab {
        let (client, edge, bj, sh) = (Ns::new("c"), Ns::new("e"), Ns::new("b"), Ns::new("s"));
        edge.sysctl("net.ipv4.ip_forward=1");
        edge.sysctl("net.ipv6.conf.all.forwarding=1");
        edge.ip(&["link", "add", "s10br", "type", "bridge"]);
        edge.ip(&["link", "set", "s10br", "up"]);
        edge.ip(&["addr", "add", "10.10.0.1/24", "dev", "s10br"]);
        edge.ip(&["addr", "add", "fd10::1/64", "dev", "s10br", "nodad"]);
        edge.veth("s10cl", &client, "s10e");
        edge.ip(&["addr", "add", "10.10.1.1/24", "dev", "s10cl"]);
        edge.ip(&["addr", "add", "fd11::1/64", "dev", "s10cl", "nodad"]);
        client.ip(&["addr", "add", "10.10.1.2/24", "dev", "s10e"]);
        client.ip(&["addr", "add", "fd11::2/64", "dev", "s10e", "nodad"]);
        client.ip(&["route", "add", "default", "via", "10.10.1.1"]);
        client.ip(&["-6", "route", "add", "default", "via", "fd11::1"]);
        let mut lan = vec![("s10bj", &bj, "2"), ("s10sh", &sh, "3")];
        let up = upstream.then(|| Ns::new("u"));
        if let Some(u) = &up {
            lan.push(("s10up", u, "4"));
        }
        for (port, ns, host) in lan {
            edge.veth(port, ns, "s10e");
            edge.ip(&["link", "set", port, "master", "s10br"]);
            ns.ip(&["addr", "add", &format!("10.10.0.{host}/24"), "dev", "s10e"]);
            ns.ip(&[
                "addr",
                "add",
                &format!("fd10::{host}/64"),
                "dev",
                "s10e",
                "nodad",
            ]);
        }
        for site in [&bj, &sh] {
            site.ip(&["addr", "add", "10.9.0.10/32", "dev", "lo"]);
            site.ip(&["addr", "add", "fd09::10/128", "dev", "lo"]);
            site.ip(&["route", "add", "default", "via", "10.10.0.1"]);
            site.ip(&["-6", "route", "add", "default", "via", "fd10::1"]);
        }
        Lab {
            client,
            edge,
            bj,
            sh,
            up,
        }
    }

    /// The switchback config of the edge router: crm (IPv4), bill (IPv6), erp (a VIP whose
    /// prefix already has a foreign route).
    pub(crate) fn config(dir: &std::path::Path) -> String {
        std::fs::write(dir.join("boss.example.zone"), ZONE).expect("zone");
        r#"[node]
id = "edge-1"
site = "bj"
roles = ["authority"]
state_dir = "{dir}/state"

[dns]
listen = ["127.0.0.1:0"]
zones = ["{dir}/boss.example.zone"]

[admin]
listen = "127.0.0.1:0"
token_file = "{dir}/admin.token"

[route]
# Only netlink events may repair within the test.
resync = "1h"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = { bj = ["10.9.0.10"], sh = ["10.9.0.10"] }
vip = { prefix = "10.9.0.10/32", next_hop = { bj = "10.10.0.2", sh = "10.10.0.3" } }
probes = "{dir}/probes/none.toml"
policy = { mode = "auto" }

[[service]]
name = "bill"
names = ["bill.boss.example."]
addresses = { bj = ["fd09::10"], sh = ["fd09::10"] }
vip = { prefix = "fd09::10/128", next_hop = { bj = "fd10::2", sh = "fd10::3" } }
probes = "{dir}/probes/none.toml"
policy = { mode = "auto" }

[[service]]
name = "erp"
names = ["erp.boss.example."]
addresses = { bj = ["10.9.0.20"], sh = ["10.9.0.20"] }
vip = { prefix = "10.9.0.20/32", next_hop = { bj = "10.10.0.2", sh = "10.10.0.3" } }
probes = "{dir}/probes/none.toml"
policy = { mode = "auto" }
"#
        .to_owned()
    }
}

fn vip4() -> SocketAddr {
    SocketAddr::from(([10, 9, 0, 10], PORT))
}

fn vip6() -> SocketAddr {
    format!("[fd09::10]:{PORT}").parse().expect("addr")
}

fn route_of<'a>(status: &'a serde_json::Value, service: &str) -> &'a serde_json::Value {
    &crate::harness::service(status, service)["enactment"]["route"]
}

#[test]
fn s10_switch_moves_vip_route_keeps_foreign_and_restores_deleted() {
    if !can_run() {
        return;
    }
    let lab = Lab::new(false);
    for site in [(&lab.bj, "bj"), (&lab.sh, "sh")] {
        SiteServer::start(site.0, vip4(), site.1);
        SiteServer::start(site.0, vip6(), site.1);
    }
    // A foreign route beside ours, and one in the way of erp's VIP.
    lab.edge.ip(&[
        "route",
        "add",
        "10.9.8.0/24",
        "via",
        "10.10.0.2",
        "proto",
        "static",
    ]);
    lab.edge.ip(&[
        "route",
        "add",
        "10.9.0.20/32",
        "via",
        "10.10.0.3",
        "proto",
        "static",
    ]);
    let routes = monitor(&lab.edge, "route");
    let dir = tempfile::tempdir().expect("tmp");
    let node = Node::start(&lab.edge, dir.path(), &Lab::config(dir.path()));
    routes.wait_for("10.9.0.10 via 10.10.0.2");
    routes.wait_for("fd09::10 via fd10::2");
    assert_eq!(ask(&lab.client, vip4()), "bj");
    assert_eq!(ask(&lab.client, vip6()), "bj");

    let status = node.status();
    assert_eq!(
        route_of(&status, "crm")["verification"]["state"],
        "verified",
        "{status}"
    );
    assert_eq!(
        route_of(&status, "bill")["verification"]["state"],
        "verified",
        "{status}"
    );
    let erp = route_of(&status, "erp")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(erp.contains("foreign route for 10.9.0.20/32"), "{status}");

    node.switch("crm", "sh");
    routes.wait_for("10.9.0.10 via 10.10.0.3");
    node.switch("bill", "sh");
    routes.wait_for("fd09::10 via fd10::3");
    assert_eq!(ask(&lab.client, vip4()), "sh");
    assert_eq!(ask(&lab.client, vip6()), "sh");
    // One route per VIP, carrying our protocol number; foreign ones untouched.
    let ours = lab.edge.show(&["route", "show", "10.9.0.10/32"]);
    assert_eq!(
        ours.trim(),
        "10.9.0.10 via 10.10.0.3 dev s10br proto 57",
        "{ours}"
    );
    let ours6 = lab.edge.show(&["-6", "route", "show", "fd09::10/128"]);
    assert!(
        ours6.starts_with("fd09::10 via fd10::3 dev s10br proto 57 metric 1024"),
        "{ours6}"
    );
    let foreign = lab.edge.show(&["route", "show", "10.9.8.0/24"]);
    assert_eq!(
        foreign.trim(),
        "10.9.8.0/24 via 10.10.0.2 dev s10br proto static",
        "{foreign}"
    );
    let blocked = lab.edge.show(&["route", "show", "10.9.0.20/32"]);
    assert_eq!(
        blocked.trim(),
        "10.9.0.20 via 10.10.0.3 dev s10br proto static",
        "{blocked}"
    );

    // Someone deletes our route: the netlink event brings it back.
    node.proc.drain();
    lab.edge.ip(&["route", "del", "10.9.0.10/32"]);
    node.proc.wait_for("route restored");
    let back = lab.edge.show(&["route", "show", "10.9.0.10/32"]);
    assert_eq!(
        back.trim(),
        "10.9.0.10 via 10.10.0.3 dev s10br proto 57",
        "{back}"
    );
    assert_eq!(ask(&lab.client, vip4()), "sh");
    let metrics = node.http("GET", "/metrics", "");
    assert!(
        metrics.contains("switchback_route_restores_total 1"),
        "{metrics}"
    );

    // A clean shutdown leaves the routes in place.
    let mut node = node;
    assert!(node.proc.terminate().success(), "clean exit");
    let kept = lab.edge.show(&["route", "show", "10.9.0.10/32"]);
    assert_eq!(
        kept.trim(),
        "10.9.0.10 via 10.10.0.3 dev s10br proto 57",
        "{kept}"
    );
}

/// Real BIRD 2 in the edge namespace learns switchback's routes by protocol number
/// (`deploy/bird/edge.conf`) and announces them over BGP; the upstream BIRD's kernel route
/// follows each switch.
#[test]
fn s10_bird_carries_the_switch_upstream() {
    if !(can_run() && require("bird (Debian bird2)", have("bird"))) {
        return;
    }
    let lab = Lab::new(true);
    let up = lab.up.as_ref().expect("upstream");
    let dir = tempfile::tempdir().expect("tmp");
    lab.edge.ip(&[
        "route",
        "add",
        "10.9.8.0/24",
        "via",
        "10.10.0.2",
        "proto",
        "static",
    ]);
    let _birds = start_birds(&lab.edge, up, dir.path());
    let upstream = monitor(up, "route");
    let node = Node::start(&lab.edge, dir.path(), &Lab::config(dir.path()));
    upstream.wait_for("10.9.0.10 via 10.10.0.2");
    node.switch("crm", "sh");
    upstream.wait_for("10.9.0.10 via 10.10.0.3");
    let r = up.show(&["route", "show", "10.9.0.10/32"]);
    assert!(
        r.starts_with("10.9.0.10 via 10.10.0.3 dev s10e proto bird"),
        "{r}"
    );
    // A static route on the edge is not switchback's: BIRD does not announce it.
    assert!(up.show(&["route", "show", "10.9.8.0/24"]).trim().is_empty());
}

/// BIRD in `edge` (config from `deploy/bird/edge.conf`) and in `up`, each in the foreground.
pub(crate) fn start_birds(edge: &Ns, up: &Ns, dir: &std::path::Path) -> [Proc; 2] {
    let edge_conf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/bird/edge.conf"
    ))
    .expect("deploy/bird/edge.conf");
    let up_conf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/bird/upstream.conf"
    ))
    .expect("deploy/bird/upstream.conf");
    let mut out = Vec::new();
    for (ns, name, conf) in [(edge, "edge", edge_conf), (up, "up", up_conf)] {
        let path = dir.join(format!("bird-{name}.conf"));
        std::fs::write(&path, conf).expect("bird conf");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name, "bird", "-f", "-c"])
            .arg(&path)
            .arg("-s")
            .arg(dir.join(format!("bird-{name}.ctl")))
            .arg("-P")
            .arg(dir.join(format!("bird-{name}.pid")));
        out.push(Proc::start(&format!("bird in {}", ns.name), cmd));
    }
    out.try_into().unwrap_or_else(|_| unreachable!())
}

/// Address mode: two hosts on one bridge; the host of the active site holds the VIP and
/// announces it (GARP, unsolicited NA), so the client's neighbour entries follow a switch.
#[test]
fn s10_address_mode_moves_vip_and_client_neighbour_follows() {
    if !can_run() {
        return;
    }
    let (lan, a, b, client) = (Ns::new("l"), Ns::new("a"), Ns::new("h"), Ns::new("k"));
    lan.ip(&["link", "add", "s10br", "type", "bridge"]);
    lan.ip(&["link", "set", "s10br", "up"]);
    for (port, ns, host, mac) in [
        ("s10a", &a, "2", "02:10:00:00:00:0a"),
        ("s10b", &b, "3", "02:10:00:00:00:0b"),
        ("s10k", &client, "9", "02:10:00:00:00:09"),
    ] {
        lan.veth(port, ns, "s10e");
        lan.ip(&["link", "set", port, "master", "s10br"]);
        ns.ip(&["link", "set", "s10e", "address", mac]);
        ns.ip(&["addr", "add", &format!("10.10.5.{host}/24"), "dev", "s10e"]);
        ns.ip(&[
            "addr",
            "add",
            &format!("fd05::{host}/64"),
            "dev",
            "s10e",
            "nodad",
        ]);
    }
    // Dual-stack: answers on the IPv4 and the IPv6 VIP.
    let any6: SocketAddr = format!("[::]:{PORT}").parse().expect("addr");
    SiteServer::start(&a, any6, "bj");
    SiteServer::start(&b, any6, "sh");
    let config = |site: &str| {
        format!(
            r#"[node]
id = "host-{site}"
site = "{site}"
roles = ["authority"]
state_dir = "{{dir}}/state"

[dns]
listen = ["127.0.0.1:0"]
zones = ["{{dir}}/boss.example.zone"]

[admin]
listen = "127.0.0.1:0"
token_file = "{{dir}}/admin.token"

[route]
announce_count = 2
announce_interval = "50ms"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = {{ bj = ["10.10.5.100"], sh = ["10.10.5.100"] }}
vip = {{ address = "10.10.5.100/24", interface = "s10e" }}
probes = "{{dir}}/probes/none.toml"
policy = {{ mode = "auto" }}

[[service]]
name = "bill"
names = ["bill.boss.example."]
addresses = {{ bj = ["fd05::100"], sh = ["fd05::100"] }}
vip = {{ address = "fd05::100/64", interface = "s10e" }}
probes = "{{dir}}/probes/none.toml"
policy = {{ mode = "auto" }}
"#
        )
    };
    let (da, db) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    for d in [&da, &db] {
        std::fs::write(d.path().join("boss.example.zone"), ZONE).expect("zone");
    }
    let addrs_b = monitor(&b, "address");
    let node_a = Node::start(&a, da.path(), &config("bj"));
    let node_b = Node::start(&b, db.path(), &config("sh"));
    node_a.proc.wait_for("VIP address announced");
    assert!(
        a.show(&["addr", "show", "dev", "s10e"])
            .contains("10.10.5.100/24")
    );
    assert!(
        !b.show(&["addr", "show", "dev", "s10e"])
            .contains("10.10.5.100/24")
    );
    let vip4 = SocketAddr::from(([10, 10, 5, 100], PORT));
    let vip6: SocketAddr = format!("[fd05::100]:{PORT}").parse().expect("addr");
    assert_eq!(ask(&client, vip4), "bj");
    assert_eq!(ask(&client, vip6), "bj");
    let neigh = client.show(&["neigh", "show", "10.10.5.100"]);
    assert!(neigh.contains("02:10:00:00:00:0a"), "{neigh}");

    // The client sends nothing more; only the announcements can change its entries.
    let neighbours = monitor(&client, "neigh");
    node_a.switch("crm", "sh");
    node_a.switch("bill", "sh");
    node_b.switch("crm", "sh");
    node_b.switch("bill", "sh");
    addrs_b.wait_for("10.10.5.100/24");
    neighbours.wait_for("10.10.5.100 dev s10e lladdr 02:10:00:00:00:0b");
    neighbours.wait_for("fd05::100 dev s10e lladdr 02:10:00:00:00:0b");
    assert!(
        !a.show(&["addr", "show", "dev", "s10e"])
            .contains("10.10.5.100/24")
    );
    assert_eq!(ask(&client, vip4), "sh");
    assert_eq!(ask(&client, vip6), "sh");
    let st = node_b.status();
    let crm = route_of(&st, "crm");
    assert_eq!(crm["verification"]["state"], "verified", "{st}");
}

/// Unknown interface, unreachable next hop and a missing CAP_NET_ADMIN: each is a precise
/// error in the log and in status, the node keeps running, and DNS keeps answering.
#[test]
fn s10_route_errors_are_precise_and_dns_keeps_answering() {
    if !(can_run()
        && require("setpriv (util-linux)", have("setpriv"))
        && require("dig (dnsutils)", have("dig")))
    {
        return;
    }
    let lab = Lab::new(false);
    let dir = tempfile::tempdir().expect("tmp");
    let config = Lab::config(dir.path())
        .replace(
            r#"next_hop = { bj = "10.10.0.2", sh = "10.10.0.3" } }
probes = "{dir}/probes/none.toml"
policy = { mode = "auto" }

[[service]]
name = "bill""#,
            r#"next_hop = { bj = "10.10.0.2", sh = "10.10.0.3" }, dev = "s10nope" }
probes = "{dir}/probes/none.toml"
policy = { mode = "auto" }

[[service]]
name = "bill""#,
        )
        .replace(
            r#"next_hop = { bj = "10.10.0.2", sh = "10.10.0.3" } }"#,
            r#"next_hop = { bj = "10.99.0.1", sh = "10.10.0.3" } }"#,
        );
    let mut node = Node::start(&lab.edge, dir.path(), &config);
    node.proc.wait_for("node ready");
    let st = node.status();
    let err = |s: &str| {
        route_of(&st, s)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        err("crm"),
        "unknown interface `s10nope` (configured at service[0].vip.dev)",
        "{st}"
    );
    assert!(
        err("erp").starts_with("next hop 10.99.0.1 for 10.9.0.20/32 is unreachable"),
        "{st}"
    );
    assert!(node.proc.log().contains("unknown interface `s10nope`"));
    assert_eq!(dig(&lab.edge, &node, "crm.boss.example."), "10.9.0.10");
    assert!(node.proc.terminate().success());

    // Without CAP_NET_ADMIN: refused, said so, and DNS still answers.
    let dir = tempfile::tempdir().expect("tmp");
    let node = Node::start_with(
        &lab.edge,
        dir.path(),
        &Lab::config(dir.path()),
        &[
            "setpriv",
            "--bounding-set",
            "-net_admin",
            "--inh-caps",
            "-net_admin",
        ],
    );
    node.proc.wait_for("CAP_NET_ADMIN");
    let st = node.status();
    let crm = route_of(&st, "crm")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        crm.starts_with("replace route 10.9.0.10/32 via 10.10.0.2: operation not permitted: switchback needs CAP_NET_ADMIN"),
        "{st}"
    );
    assert_eq!(dig(&lab.edge, &node, "crm.boss.example."), "10.9.0.10");
    assert!(
        lab.edge
            .show(&["route", "show", "10.9.0.10/32"])
            .trim()
            .is_empty()
    );
}

/// `dig +short` against the node's DNS listener, from inside `ns`.
fn dig(ns: &Ns, node: &Node, name: &str) -> String {
    let (_, line) = node.proc.wait_for_seen("dns listening on");
    let addr: SocketAddr = line
        .split("dns listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no DNS address in {line:?}"));
    let out = Command::new("ip")
        .args([
            "netns", "exec", &ns.name, "dig", "+short", "+time=2", "+tries=1",
        ])
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), name, "A"])
        .output()
        .expect("dig");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
