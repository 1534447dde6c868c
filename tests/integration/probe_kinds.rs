//! Every check kind against real loopback targets: up, down after exactly `fall` failures
//! when the target is killed, up again after `rise`, timeouts, and the `--once` table.

use crate::probe_servers::{Mode, Server};
use crate::probe_support::{app, config, probes, require, until};
use std::net::SocketAddr;
use switchback::model::{CheckName, Health};
use switchback::probe::{self, Prober};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A loopback address nothing listens on (outside the ephemeral range, so it stays so).
fn free_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], crate::ports::free_port()))
}

fn check(kind_keys: &str, name: &str, rise: u32, fall: u32) -> String {
    format!(
        "[[check]]\nname = \"{name}\"\nsite = \"bj\"\nlayer = \"app\"\n{kind_keys}\ninterval = \"400ms\"\nfast_interval = \"60ms\"\ntimeout = \"250ms\"\nrise = {rise}\nfall = {fall}\n\n"
    )
}

/// Runs a prober over one probes file for service `crm`; returns the observation channel,
/// the status handle and the shutdown token (drop it to stop).
fn start(
    dir: &tempfile::TempDir,
    text: &str,
) -> (
    mpsc::Receiver<switchback::model::Observation>,
    probe::StatusHandle,
    CancellationToken,
) {
    let (path, file) = probes(dir.path(), "crm.toml", text);
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    let prober = Prober::new(&cfg, vec![file]).expect("prober");
    let status = prober.status();
    let (tx, rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { prober.run(tx, s).await.expect("run") });
    (rx, status, stop)
}

fn change(status: &probe::StatusHandle, name: &str) -> switchback::probe::StateChange {
    let snap = status.snapshot();
    let st = snap
        .iter()
        .find(|c| c.name == CheckName::from(name))
        .expect("check");
    st.last_change.clone().expect("a change")
}

/// Kills the target of a running check and brings it back on the same address, asserting
/// the down transition after exactly `fall` failures and the up one after exactly `rise`.
async fn kill_and_revive(
    name: &str,
    keys: impl Fn(SocketAddr) -> String,
    spawn: impl AsyncFn(SocketAddr) -> Server,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let server = spawn("127.0.0.1:0".parse().expect("addr")).await;
    let addr = server.addr;
    let (mut rx, status, stop) = start(&dir, &check(&keys(addr), name, 2, 3));
    until(&mut rx, "up", |o| app(o, "crm", "bj") == Health::Up).await;
    assert_eq!(
        change(&status, name).after,
        2,
        "up after rise = 2 successes"
    );
    server.stop().await;
    let o = until(&mut rx, "down after kill", |o| {
        app(o, "crm", "bj") == Health::Down
    })
    .await;
    let c = change(&status, name);
    assert_eq!(
        (c.from, c.to, c.after),
        (Health::Up, Health::Down, 3),
        "{c:?}"
    );
    assert!(o.self_ok);
    let _revived = spawn(addr).await;
    until(&mut rx, "up again", |o| app(o, "crm", "bj") == Health::Up).await;
    let c = change(&status, name);
    assert_eq!(
        (c.from, c.to, c.after),
        (Health::Down, Health::Up, 2),
        "{c:?}"
    );
    stop.cancel();
}

#[tokio::test]
async fn http_goes_down_after_fall_and_back_after_rise() {
    kill_and_revive(
        "crm-http",
        |a| format!("kind = \"http\"\nurl = \"http://{a}/health\"\nbody = \"ok\"\nhost = \"crm.boss.example\""),
        async |a| Server::tcp(a, Mode::Healthy).await,
    )
    .await;
}

#[tokio::test]
async fn tcp_banner_goes_down_after_fall_and_back_after_rise() {
    kill_and_revive(
        "crm-tcp",
        |a| format!("kind = \"tcp\"\ntarget = \"{a}\"\nexpect = \"220 \""),
        async |a| Server::tcp(a, Mode::Banner).await,
    )
    .await;
}

#[tokio::test]
async fn dns_goes_down_after_fall_and_back_after_rise() {
    kill_and_revive(
        "crm-dns",
        |a| format!("kind = \"dns\"\nserver = \"{a}\"\nquery = \"ok.test.\"\nexpect_address = \"127.0.0.1\""),
        async |a| Server::dns(a).await,
    )
    .await;
}

#[tokio::test]
async fn a_hung_server_times_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let hung = Server::tcp("127.0.0.1:0".parse().expect("addr"), Mode::Silent).await;
    let text = check(
        &format!("kind = \"http\"\nurl = \"http://{}/\"", hung.addr),
        "hung",
        1,
        2,
    );
    let (mut rx, status, stop) = start(&dir, &text);
    until(&mut rx, "down", |o| app(o, "crm", "bj") == Health::Down).await;
    let c = change(&status, "hung");
    assert!(c.why.contains("timed out"), "{c:?}");
    stop.cancel();
}

#[tokio::test]
async fn once_reports_every_kind_in_a_table() {
    let dir = tempfile::tempdir().expect("tmp");
    let http = Server::tcp("127.0.0.1:0".parse().expect("addr"), Mode::Healthy).await;
    let dns = Server::dns("127.0.0.1:0".parse().expect("addr")).await;
    let dead = free_port();
    let mut text = String::new();
    text += &check(
        &format!(
            "kind = \"http\"\nurl = \"http://{}/\"\nexpect_status = [200]",
            http.addr
        ),
        "web",
        1,
        2,
    );
    text += &check(
        &format!("kind = \"tcp\"\ntarget = \"{dead}\""),
        "dead-tcp",
        1,
        2,
    );
    text += &check(
        &format!(
            "kind = \"dns\"\nserver = \"{}\"\nquery = \"no.test.\"\nexpect_rcode = \"NXDOMAIN\"",
            dns.addr
        ),
        "nx",
        1,
        2,
    );
    text += &check(
        "kind = \"exec\"\ncommand = [\"sh\", \"-c\", \"echo site=$SWITCHBACK_SITE; exit 0\"]",
        "script",
        1,
        2,
    );
    let (path, file) = probes(dir.path(), "crm.toml", &text);
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    let report = probe::run_once(&cfg, vec![file]).await.expect("once");
    let states: Vec<(String, Health)> = report
        .rows
        .iter()
        .map(|r| (r.check.to_string(), r.state))
        .collect();
    assert_eq!(
        states,
        [
            ("web".into(), Health::Up),
            ("dead-tcp".into(), Health::Down),
            ("nx".into(), Health::Up),
            ("script".into(), Health::Up)
        ]
    );
    assert!(!report.all_up());
    let table = report.to_string();
    assert!(table.starts_with("CHECK"), "{table}");
    assert!(table.contains("site=bj"), "exec sees its site:\n{table}");
    assert!(table.contains("refused"), "dead port says why:\n{table}");
}

#[tokio::test]
async fn icmp_to_loopback_v4_and_v6() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::new();
    for (name, ip) in [("lo4", "127.0.0.1"), ("lo6", "::1")] {
        text += &format!(
            "[[check]]\nname = \"{name}\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"{ip}\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\nrise = 2\nfall = 2\n\n"
        );
    }
    text += "[[check]]\nname = \"gw\"\nsite = \"bj\"\nlayer = \"link\"\nkind = \"icmp\"\ntarget = \"127.0.0.2\"\ninterval = \"100ms\"\ntimeout = \"80ms\"\nwindow = 5\nmax_loss = 20\nmax_rtt = \"50ms\"\nrise = 2\nfall = 2\n";
    let (path, file) = probes(dir.path(), "crm.toml", &text);
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    let prober = match Prober::new(&cfg, vec![file.clone()]) {
        Ok(p) => p,
        Err(e) => {
            require(&format!("ICMP sockets: {e}"), false);
            return;
        }
    };
    let (tx, mut rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { prober.run(tx, s).await.expect("run") });
    let o = until(&mut rx, "host and link up", |o| {
        let bj = &o.sites[&"bj".into()];
        bj.host == Health::Up && bj.link == Health::Up
    })
    .await;
    assert_eq!(
        o.sites[&"sh".into()].host,
        Health::Unknown,
        "sh is not measured"
    );
    stop.cancel();
    let report = probe::run_once(&cfg, vec![file]).await.expect("once");
    assert!(report.all_up(), "{report}");
    assert!(report.rows.iter().all(|r| r.rtt.is_some()), "{report}");
}

#[tokio::test]
async fn a_failing_self_check_makes_the_node_abstain_until_it_recovers() {
    let dir = tempfile::tempdir().expect("tmp");
    let uplink = free_port();
    let text = format!(
        "[[check]]\nname = \"uplink\"\nself_check = true\nlayer = \"link\"\nkind = \"tcp\"\ntarget = \"{uplink}\"\ninterval = \"300ms\"\ntimeout = \"200ms\"\nrise = 1\nfall = 1\n"
    );
    let (mut rx, _status, stop) = start(&dir, &text);
    // Before its first result the uplink is unknown, which already abstains; wait for down.
    let o = until(&mut rx, "abstain", |o| {
        !o.self_ok && o.self_detail.as_deref().is_some_and(|d| d.contains("down"))
    })
    .await;
    let why = o.self_detail.unwrap_or_default();
    assert!(why.contains("uplink") && why.contains("refused"), "{why}");
    let _server = Server::tcp(uplink, Mode::Healthy).await;
    let o = until(&mut rx, "vote again", |o| o.self_ok).await;
    assert_eq!(o.self_detail, None);
    stop.cancel();
}

/// The integrator's `probe --once` path on the shipped demo: config::load, each service's
/// probes file through defs::load, run_once. Only loopback addresses are checked.
#[tokio::test]
async fn once_over_the_demo_config() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/demo.toml");
    let cfg = switchback::config::load(&demo, Some(Default::default())).expect("demo config");
    let mut files = Vec::new();
    for s in &cfg.services {
        files.push(switchback::probe::defs::load(&s.probes).expect("demo probes"));
    }
    let n: usize = files.iter().map(|f| f.checks.len()).sum();
    let report = match probe::run_once(&cfg, files).await {
        Ok(r) => r,
        Err(e) => {
            require(&format!("ICMP sockets: {e}"), false);
            return;
        }
    };
    assert_eq!(report.rows.len(), n, "{report}");
    assert_eq!(
        report.to_string().lines().count(),
        n + 1,
        "header plus one line per check"
    );
    assert!(
        report.rows.iter().all(|r| r.state != Health::Unknown),
        "once gives every check a verdict:\n{report}"
    );
}
