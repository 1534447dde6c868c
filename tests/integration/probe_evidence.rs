//! Evidence-weighted detection against real targets in network namespaces this test creates
//! (and always deletes): a killed HTTP server is definitive (refused) and takes the app down
//! after `fall`; a black hole (nftables drops everything, carrier up) makes app and host
//! silent together; a cut veth is a definitive link failure on the only path.

use crate::probe_support::{Netns, app, config, have, is_root, probes, require, sh, until};
use std::process::{Child, Command, Stdio};
use switchback::model::{Health, Observation, SiteId};
use switchback::probe::Prober;
use switchback::probe::evidence::Evidence;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A python3 HTTP server inside the site namespace; killed on drop.
struct Site(Child);

impl Site {
    fn start(ns: &str) -> Site {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                "10.201.0.2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server");
        Site(child)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn view(o: &Observation) -> switchback::model::SiteView {
    o.sites[&SiteId::from("bj")].clone()
}

const CHECKS: &str = r#"
[[check]]
name = "crm-app"
site = "bj"
layer = "app"
kind = "http"
url = "http://10.201.0.2:8080/"
preset = "fast"

[[check]]
name = "crm-host"
site = "bj"
layer = "host"
kind = "icmp"
target = "10.201.0.2"
preset = "fast"

[[check]]
name = "crm-transit"
site = "bj"
layer = "link"
kind = "iface"
iface = "va"
preset = "fast"
"#;

#[test]
fn refused_is_definitive_silence_corroborates_and_a_cut_path_decides() {
    if !(require("root (network namespaces)", is_root())
        && require("ip (iproute2)", have("ip"))
        && require("nft (nftables)", have("nft"))
        && require("python3", have("python3")))
    {
        return;
    }
    let probe_ns = Netns::prefixed("s12", "evp");
    let site_ns = Netns::prefixed("s12", "evs");
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
    probe_ns.ip(&["addr", "add", "10.201.0.1/24", "dev", "va"]);
    site_ns.ip(&["addr", "add", "10.201.0.2/24", "dev", "vb"]);
    probe_ns.ip(&["link", "set", "va", "up"]);
    site_ns.ip(&["link", "set", "vb", "up"]);
    let site = site_ns.name.clone();
    let server = Site::start(&site);
    probe_ns.run(move || {
        Box::pin(async move {
            let mut server = Some(server);
            let dir = tempfile::tempdir().expect("tmp");
            let (path, file) = probes(dir.path(), "crm.toml", CHECKS);
            let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
            let prober = Prober::new(&cfg, vec![file]).expect("prober");
            let status = prober.status();
            let (tx, mut rx) = mpsc::channel::<Observation>(256);
            let stop = CancellationToken::new();
            let s = stop.clone();
            tokio::spawn(async move { prober.run(tx, s).await.expect("run") });
            until(&mut rx, "app, host and link up", |o| {
                app(o, "crm", "bj") == Health::Up
                    && view(o).host == Health::Up
                    && view(o).link == Health::Up
            })
            .await;

            // The app dies: connection refused is definitive, down after `fall` (2).
            server.take();
            until(&mut rx, "app down", |o| app(o, "crm", "bj") == Health::Down).await;
            let app_check = &status.snapshot()[0];
            assert_eq!(
                app_check.down_by,
                Some(Evidence::Definitive),
                "{app_check:?}"
            );
            assert_eq!(app_check.last_evidence, Some(Evidence::Definitive));
            assert_eq!(app_check.last_change.as_ref().map(|c| c.after), Some(2));
            let _server = Site::start(&site);
            until(&mut rx, "app back", |o| app(o, "crm", "bj") == Health::Up).await;

            // A black hole: every packet dropped, carrier up. App and host fall silent together.
            let nft = |rules: &str| sh(&["ip", "netns", "exec", &site, "nft", rules]);
            nft("add table netdev s12hole");
            nft("add chain netdev s12hole in { type filter hook ingress device vb priority 0 ; }");
            nft("add rule netdev s12hole in drop");
            let o = until(&mut rx, "app and host silent", |o| view(o).silent).await;
            assert!(!view(&o).cut, "carrier is still up");
            let snap = status.snapshot();
            assert_eq!(
                snap[0].last_evidence,
                Some(Evidence::Ambiguous),
                "{:?}",
                snap[0]
            );
            assert!(snap[0].silent && snap[1].silent, "{snap:?}");
            nft("delete table netdev s12hole");
            until(&mut rx, "silence over", |o| {
                !view(o).silent && app(o, "crm", "bj") == Health::Up
            })
            .await;

            // The only path is cut: carrier gone on this probe's side, definitive.
            sh(&["ip", "-n", &site, "link", "set", "vb", "down"]);
            let o = until(&mut rx, "path cut", |o| view(o).cut).await;
            assert_eq!(view(&o).link, Health::Down);
            stop.cancel();
        })
    });
}
