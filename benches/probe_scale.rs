//! Probe scale benchmark (not a timed test): N ICMP checks at a 1 s interval against distinct
//! loopback addresses (127.1.x.y), and N TCP checks against one local listener running in a
//! child process, at N = 1,000 and 10,000. The prober runs on ONE thread (a current-thread
//! tokio runtime), so CPU time per check is per core. Reports checks/s, CPU %, checks/s per
//! core (checks / CPU seconds) and RSS (VmRSS, VmHWM) from getrusage and /proc/self/status.
//!
//! Run: `cargo bench --bench probe_scale` (release). Options: `-- --secs 10 --n 1000,10000
//! --kinds icmp,tcp`. Each scenario runs in a fresh child process so RSS is its own.

#[path = "../tests/support/fixture.rs"]
mod fixture;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use switchback::config::*;
use switchback::probe::{Prober, defs};
use tokio_util::sync::CancellationToken;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(port_file) = arg(&args, "--listener") {
        return listener(&port_file);
    }
    if let (Some(kind), Some(n)) = (arg(&args, "--scenario"), arg(&args, "--count")) {
        let secs = arg(&args, "--secs")
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let target = arg(&args, "--target").unwrap_or_default();
        return scenario(&kind, n.parse().unwrap_or(1000), secs, &target);
    }
    // Driver: one child process per scenario. `cargo bench` passes `--bench`; without it
    // (`cargo test --all-targets`) this is a one-second smoke run at N = 100.
    let full = args.iter().any(|a| a == "--bench");
    let secs = arg(&args, "--secs").unwrap_or_else(|| if full { "10" } else { "1" }.into());
    let ns = arg(&args, "--n").unwrap_or_else(|| if full { "1000,10000" } else { "100" }.into());
    let kinds = arg(&args, "--kinds").unwrap_or_else(|| "icmp,tcp".into());
    let exe = std::env::current_exe().expect("current exe");
    let dir = tempfile::tempdir().expect("tmp");
    let port_file = dir.path().join("port");
    let mut child_listener = Command::new(&exe)
        .args(["--listener", &port_file.display().to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("listener");
    let mut port = String::new();
    for _ in 0..200 {
        port = std::fs::read_to_string(&port_file).unwrap_or_default();
        if port.ends_with('\n') {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let target = format!("127.0.0.1:{}", port.trim());
    let mut failed = false;
    println!("kind  N      secs  checks/s  cpu%   checks/s/core  rss_MB  hwm_MB  load_MB fails");
    for kind in kinds.split(',') {
        for n in ns.split(',') {
            let out = Command::new(&exe)
                .args([
                    "--scenario",
                    kind,
                    "--count",
                    n,
                    "--secs",
                    &secs,
                    "--target",
                    &target,
                ])
                .output()
                .expect("scenario");
            print!("{}", String::from_utf8_lossy(&out.stdout));
            if !out.status.success() {
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                failed = true;
            }
        }
    }
    let _ = child_listener.kill();
    let _ = child_listener.wait();
    assert!(!failed, "a scenario failed");
}

/// A TCP listener that accepts and drops connections (the checks only connect).
fn listener(port_file: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.set_reuse_address(true).expect("reuse");
        sock.bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .expect("addr")
                .into(),
        )
        .expect("bind");
        sock.listen(4096).expect("listen");
        sock.set_nonblocking(true).expect("nonblocking");
        let l = tokio::net::TcpListener::from_std(sock.into()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let mut f = std::fs::File::create(port_file).expect("port file");
        writeln!(f, "{port}").expect("write port");
        loop {
            if let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        }
    });
}

fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    tv(u.user_time()) + tv(u.system_time())
}

fn mem_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn probes_text(kind: &str, n: usize, target: &str) -> String {
    let mut t = String::with_capacity(n * 200);
    for i in 0..n {
        let keys = match kind {
            "icmp" => format!(
                "layer = \"host\"\nkind = \"icmp\"\ntarget = \"127.1.{}.{}\"",
                i / 250,
                i % 250 + 1
            ),
            _ => format!("layer = \"app\"\nkind = \"tcp\"\ntarget = \"{target}\""),
        };
        t += &format!(
            "[[check]]\nname = \"c{i}\"\nsite = \"bj\"\n{keys}\ninterval = \"1s\"\ntimeout = \"500ms\"\nrise = 2\nfall = 3\n\n"
        );
    }
    t
}

fn scenario(kind: &str, n: usize, secs: u64, target: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, probes_text(kind, n, target)).expect("write probes");
    let file = defs::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
    let load_mb = mem_mb("VmRSS:");
    let cfg = config(&dir.path().join("node.toml"), &path);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async move {
        let prober = match Prober::new(&cfg, vec![file]) {
            Ok(p) => p,
            // No ICMP privilege here: fail loudly under CI=true, else say why and skip.
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                println!("{kind:<5} {n:<6} SKIP: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let status = prober.status();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let stop = CancellationToken::new();
        let run = tokio::spawn(prober.run(tx, stop.clone()));
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        // Warm up: let the start offsets spread and every check settle.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (runs0, cpu0, t0) = (
            status.total_runs(),
            cpu_seconds(),
            tokio::time::Instant::now(),
        );
        let fails0: u64 = status.snapshot().iter().map(|c| c.failures).sum();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (runs1, cpu1, wall) = (
            status.total_runs(),
            cpu_seconds(),
            t0.elapsed().as_secs_f64(),
        );
        let fails1: u64 = status.snapshot().iter().map(|c| c.failures).sum();
        let checks = (runs1 - runs0) as f64;
        let cpu = cpu1 - cpu0;
        println!(
            "{kind:<5} {n:<6} {secs:<5} {:<9.0} {:<6.1} {:<14.0} {:<7.1} {:<7.1} {:<7.1} {}",
            checks / wall,
            cpu / wall * 100.0,
            checks / cpu.max(1e-9),
            mem_mb("VmRSS:"),
            mem_mb("VmHWM:"),
            load_mb,
            fails1 - fails0
        );
        stop.cancel();
        let _ = run.await;
    });
}

fn config(source: &Path, probes: &Path) -> Config {
    let policy = Policy {
        quorum: 1,
        min_domains: 1,
        ..fixture::policy()
    };
    let mut c = fixture::config_owned(&["crm".to_owned()], vec![], policy);
    c.source = source.to_owned();
    c.node.roles = vec![Role::Probe];
    c.node.state_dir = std::env::temp_dir();
    c.log.level = "warn".into();
    c.dns.listen.clear();
    c.services[0].addresses.clear();
    c.services[0].probes = probes.to_owned();
    c
}
