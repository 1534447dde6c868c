//! Route enactment figures (ignored; `deploy/bench/route.sh` runs them in release mode):
//! - switch latency over 100 switches in the edge lab with BIRD: committed decision → kernel
//!   route replaced (the node's own log timestamps), request → route event, → first client
//!   packet at the new site, → upstream BIRD's kernel route changed;
//! - reconcile cost of 1,000 and 10,000 VIPs in a namespace: install, switch all, no-op
//!   resync, restore after a flush — wall time, CPU (user+sys of the enacting thread) and
//!   netlink requests.

use crate::fixture;
use crate::probe_support::{have, require};
use crate::route_netns::start_birds;
use crate::route_support::{LIMIT, Node, Ns, can_run, monitor};
use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use switchback::config::{Vip, VipRoute};
use switchback::enact::{Reconciler, RouteEnactor};
use switchback::model::{Epoch, ServiceId, SiteId};
use switchback::policy::{Desired, DesiredSet};
use tokio::time::Instant;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn summary(name: &str, v: &mut [f64]) {
    println!(
        "{name:<44} n={:<4} median {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        v.len(),
        pct(v, 0.5),
        pct(v, 0.99),
        pct(v, 1.0)
    );
}

/// Microseconds since midnight of a `2026-12-03T00:28:57.577195Z …` log line.
fn log_micros(line: &str) -> f64 {
    let t = line
        .split('T')
        .nth(1)
        .and_then(|r| r.split('Z').next())
        .expect("timestamp");
    let mut parts = t.split(':');
    let h: f64 = parts.next().and_then(|x| x.parse().ok()).expect("h");
    let m: f64 = parts.next().and_then(|x| x.parse().ok()).expect("m");
    let s: f64 = parts.next().and_then(|x| x.parse().ok()).expect("s");
    ((h * 60.0 + m) * 60.0 + s) * 1e6
}

/// A UDP receiver in a site: reports the first datagram after each arming.
fn armed_receiver(ns: &Ns, addr: SocketAddr) -> (Arc<AtomicBool>, mpsc::Receiver<Instant>) {
    let armed = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready) = mpsc::channel();
    let a = Arc::clone(&armed);
    ns.spawn(move || {
        let s = UdpSocket::bind(addr).expect("bind");
        ready_tx.send(()).expect("ready");
        let mut buf = [0u8; 64];
        while s.recv(&mut buf).is_ok() {
            if a.swap(false, Ordering::SeqCst) {
                let _ = tx.send(Instant::now());
            }
        }
    });
    ready.recv_timeout(LIMIT).expect("receiver ready");
    (armed, rx)
}

#[test]
#[ignore = "benchmark: deploy/bench/route.sh"]
fn s10_bench_switch_latency() {
    if !(can_run() && require("bird (Debian bird2)", have("bird"))) {
        return;
    }
    let switches: usize = std::env::var("S10_SWITCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let lab = crate::route_netns::Lab::new(true);
    let up = lab.up.as_ref().expect("upstream");
    let dir = tempfile::tempdir().expect("tmp");
    let _birds = start_birds(&lab.edge, up, dir.path());
    let upstream = monitor(up, "route");
    let edge = monitor(&lab.edge, "route");
    let vip = SocketAddr::from(([10, 9, 0, 10], 22081));
    let receivers = [
        ("bj", "10.10.0.2", armed_receiver(&lab.bj, vip)),
        ("sh", "10.10.0.3", armed_receiver(&lab.sh, vip)),
    ];
    let node = Node::start(
        &lab.edge,
        dir.path(),
        &crate::route_netns::Lab::config(dir.path()),
    );
    upstream.wait_for("10.9.0.10 via 10.10.0.2");
    // The client sends a datagram to the VIP every 100 µs.
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let _client = lab.client.spawn(move || {
        let sock = UdpSocket::bind("0.0.0.0:0").expect("bind");
        while !s.load(Ordering::Relaxed) {
            let _ = sock.send_to(b"x", vip);
            std::thread::sleep(Duration::from_micros(100));
        }
    });
    // Log lines carry wall-clock timestamps; our instants are mapped onto the same clock.
    let (base_i, base_w) = (Instant::now(), std::time::SystemTime::now());
    let day_us = |i: Instant| {
        let w = base_w + i.duration_since(base_i);
        let since = w.duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        (since.as_micros() % 86_400_000_000) as f64
    };
    let (mut commit_to_route, mut commit_to_pkt, mut commit_to_up, mut req_to_commit) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut took = Vec::new();
    for i in 0..switches {
        let (site, nh, (armed, first)) = &receivers[(i + 1) % 2];
        while first.try_recv().is_ok() {}
        node.proc.drain();
        let mark = node.proc.log().len();
        armed.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        node.switch("crm", site);
        edge.wait_for(&format!("10.9.0.10 via {nh}"));
        let t_pkt = first.recv_timeout(LIMIT).expect("packet at the new site");
        let (t_up, _) = upstream.wait_for(&format!("10.9.0.10 via {nh}"));
        // Tasks log concurrently: wait for the last line, then read the others from the log.
        let (_, enacted) = node.proc.wait_for("enacted enactor=\"route\" service=crm");
        let log = node.proc.log()[mark..].to_owned();
        let line = |needle: &str| {
            log.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in {log}"))
                .to_owned()
        };
        let (committed, replaced) = (
            line("decision committed service=crm"),
            line("route replaced service=crm"),
        );
        let at_commit = log_micros(&committed);
        commit_to_route.push((log_micros(&replaced) - at_commit) / 1e3);
        commit_to_pkt.push((day_us(t_pkt) - at_commit) / 1e3);
        commit_to_up.push((day_us(t_up) - at_commit) / 1e3);
        req_to_commit.push((at_commit - day_us(t0)) / 1e3);
        let us: f64 = enacted
            .split("took_us=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|x| x.parse().ok())
            .expect("took_us");
        took.push(us / 1e3);
    }
    stop.store(true, Ordering::Relaxed);
    println!("route switch latency over {switches} switches (crm, 10.9.0.10/32):");
    summary(
        "switch request sent → decision committed",
        &mut req_to_commit,
    );
    summary("committed → kernel route replaced", &mut commit_to_route);
    summary("route enactor: apply start → replace acked", &mut took);
    summary(
        "committed → first client packet at new site",
        &mut commit_to_pkt,
    );
    summary(
        "committed → upstream BIRD kernel route seen",
        &mut commit_to_up,
    );
}

/// `n` route-mode services with VIPs 10.100.x.y/32 via 10.20.0.2 (bj) / 10.20.0.3 (sh).
fn scale_config(n: usize) -> switchback::config::Config {
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let mut cfg = fixture::config_owned(&names, Vec::new(), fixture::policy());
    for (i, s) in cfg.services.iter_mut().enumerate() {
        s.vip = Some(Vip::Route(VipRoute {
            prefix: format!("10.100.{}.{}/32", i / 250, i % 250 + 1)
                .parse()
                .expect("prefix"),
            next_hop: [
                (SiteId::from("bj"), "10.20.0.2".parse().expect("ip")),
                (SiteId::from("sh"), "10.20.0.3".parse().expect("ip")),
            ]
            .into(),
            dev: None,
            table: 254,
            metric: 0,
        }));
    }
    cfg
}

fn desired(cfg: &switchback::config::Config, site: &str, epoch: u64) -> DesiredSet {
    cfg.services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                Desired {
                    service: s.name.clone(),
                    active_site: SiteId::from(site),
                    epoch: Epoch(epoch),
                    degraded: false,
                    up_sites: BTreeSet::from([SiteId::from(site)]),
                    ttl: Duration::from_secs(30),
                },
            )
        })
        .collect::<std::collections::BTreeMap<ServiceId, Desired>>()
}

fn cpu_ms() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage");
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e3 + t.tv_usec() as f64 / 1e3;
    ms(u.user_time()) + ms(u.system_time())
}

#[test]
#[ignore = "benchmark: deploy/bench/route.sh"]
fn s10_bench_reconcile_scale() {
    if !can_run() {
        return;
    }
    for n in [1_000, 10_000] {
        let ns = Ns::new("r");
        ns.ip(&[
            "link", "add", "s10a", "type", "veth", "peer", "name", "s10b",
        ]);
        ns.ip(&["link", "set", "s10a", "up"]);
        ns.ip(&["link", "set", "s10b", "up"]);
        ns.ip(&["addr", "add", "10.20.0.1/16", "dev", "s10a"]);
        let name = ns.name.clone();
        ns.run(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let cfg = Arc::new(scale_config(n));
                let stop = tokio_util::sync::CancellationToken::new();
                let mut e = RouteEnactor::start(Arc::clone(&cfg), stop.clone()).expect("start");
                let stats = e.stats();
                let mut step = async |what: &str, d: &DesiredSet, expect: usize| {
                    let req0 = stats.requests.load(Ordering::Relaxed);
                    let (t0, c0) = (Instant::now(), cpu_ms());
                    let applied = e.apply(d).await;
                    let (wall, cpu) = (t0.elapsed().as_secs_f64() * 1e3, cpu_ms() - c0);
                    let req = stats.requests.load(Ordering::Relaxed) - req0;
                    assert_eq!(applied.len(), expect, "{what}: {:?}", applied.first());
                    assert!(applied.iter().all(|a| a.ok()), "{what}");
                    println!(
                        "{n:>6} VIPs  {what:<34} wall {wall:>9.1} ms  cpu {cpu:>9.1} ms  netlink requests {req:>6}"
                    );
                };
                step("install (incl. verify lookups)", &desired(&cfg, "bj", 1), n).await;
                step("switch all (replace + verify)", &desired(&cfg, "sh", 2), n).await;
                step("resync, nothing to do (dump)", &desired(&cfg, "sh", 2), 0).await;
                let out = std::process::Command::new("ip")
                    .args(["route", "flush", "proto", "57"])
                    .output()
                    .expect("flush");
                assert!(out.status.success());
                step("restore all after a flush", &desired(&cfg, "sh", 2), n).await;
                stop.cancel();
            });
        });
        drop(name);
    }
}
