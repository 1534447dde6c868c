//! Serves a zone with switchback's DNS authority, for benchmarks (`dns-peers.sh`).
//!
//! ```text
//! cargo run --release --example dns_serve -- ZONE_FILE LISTEN [UDP_SOCKETS] [SWITCH_SAMPLES]
//! ```
//! Names `crm billing acct settle portal api sms ussd` become switched services (their static
//! lines are taken out of a copy of the zone, their addresses kept as the primary site's, the
//! backup gets 10.2.0.x). With SWITCH_SAMPLES > 0 it first measures, that many times, the time
//! from `apply()` of a switch to the first UDP answer carrying the new address, then serves
//! until Ctrl-C.

#[path = "../tests/support/fixture.rs"]
mod fixture;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hickory_server::proto::op::{Message, MessageType, OpCode, Query};
use hickory_server::proto::rr::{Name, RData, RecordType};
use switchback::config::Config;
use switchback::dns::DnsServer;
use switchback::model::Epoch;
use switchback::policy::Desired;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const SWITCHED: [&str; 8] = [
    "crm", "billing", "acct", "settle", "portal", "api", "sms", "ussd",
];

/// Splits the zone: static text without the switched names, and their primary addresses.
fn split_zone(text: &str) -> (String, BTreeMap<String, IpAddr>) {
    let mut kept = String::new();
    let mut addrs = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let owner = f.next().unwrap_or("");
        if SWITCHED.contains(&owner) {
            if let Some(ip) = line.split_whitespace().last().and_then(|a| a.parse().ok()) {
                addrs.insert(owner.to_owned(), ip);
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    (kept, addrs)
}

fn config(
    zone: &Path,
    state: &Path,
    listen: SocketAddr,
    sockets: usize,
    addrs: &BTreeMap<String, IpAddr>,
) -> Config {
    let services = addrs
        .iter()
        .map(|(name, ip)| {
            let i = SWITCHED.iter().position(|n| n == name).unwrap_or(0);
            let backup = IpAddr::from([10, 2, 0, 10 + i as u8]);
            fixture::service(name, *ip, backup, fixture::policy())
        })
        .collect();
    let mut c = fixture::dns_config(zone, state, services);
    c.dns.listen = vec![listen];
    c.dns.udp_sockets = sockets;
    c.log.level = "warn".into();
    c
}

fn crm_query(id: u16) -> Result<Vec<u8>> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("crm.boss.example.")?,
        RecordType::A,
    ));
    Ok(m.to_vec()?)
}

/// Measures apply() → first answer with the new address, `n` times, alternating sites.
async fn measure(handle: &switchback::dns::DnsHandle, server: SocketAddr, n: usize) -> Result<()> {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    sock.connect(server).await?;
    let mut buf = vec![0u8; 1500];
    let (mut apply_us, mut answer_us) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (site, want): (&str, IpAddr) = if i % 2 == 0 {
            ("sh", [10, 2, 0, 10].into())
        } else {
            ("bj", [10, 1, 0, 10].into())
        };
        let view = Desired {
            service: "crm".into(),
            active_site: site.into(),
            epoch: Epoch(i as u64 + 1),
            degraded: false,
            up_sites: [site.into()].into(),
            ttl: Duration::from_secs(30),
        };
        let t0 = Instant::now();
        if !handle.apply(&[view])? {
            bail!("apply changed nothing");
        }
        let t1 = Instant::now();
        let id = i as u16;
        sock.send(&crm_query(id)?).await?;
        let got = loop {
            let len = sock.recv(&mut buf).await?;
            let m = Message::from_vec(&buf[..len])?;
            if m.metadata.id == id {
                break m;
            }
        };
        let t2 = Instant::now();
        let ok = got
            .answers
            .iter()
            .any(|r| matches!(&r.data, RData::A(a) if IpAddr::from(a.0) == want));
        if !ok {
            bail!("sample {i}: answer after apply did not carry {want}");
        }
        apply_us.push((t1 - t0).as_secs_f64() * 1e6);
        answer_us.push((t2 - t0).as_secs_f64() * 1e6);
    }
    for (label, v) in [
        ("apply()", &mut apply_us),
        ("apply->answered", &mut answer_us),
    ] {
        v.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{label:<16} n={} p50={:.1}us p90={:.1}us p99={:.1}us max={:.1}us",
            v.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let zone_path = args
        .get(1)
        .context("usage: dns_serve ZONE LISTEN [UDP_SOCKETS] [SWITCH_SAMPLES]")?;
    let listen: SocketAddr = args.get(2).context("LISTEN missing")?.parse()?;
    let sockets: usize = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let samples: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(0);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            switchback::dns::QUIET_LOGS,
        ))
        .init();
    let text =
        std::fs::read_to_string(zone_path).with_context(|| format!("reading {zone_path}"))?;
    let (static_text, addrs) = split_zone(&text);
    let state = tempfile::tempdir()?;
    let zone = state.path().join("boss.example.zone");
    std::fs::write(&zone, static_text)?;
    let cfg = config(&zone, state.path(), listen, sockets, &addrs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let server = DnsServer::bind(&cfg)?;
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let shutdown = CancellationToken::new();
        let serving = tokio::spawn(server.run(shutdown.clone()));
        if samples > 0 {
            measure(&handle, addr, samples).await?;
        }
        println!("serving on {addr} with {sockets} udp sockets");
        tokio::signal::ctrl_c().await?;
        shutdown.cancel();
        serving.await??;
        println!("{:?}", handle.counters());
        Ok(())
    })
}
