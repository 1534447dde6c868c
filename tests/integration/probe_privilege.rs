//! ICMP privilege: as an unprivileged user in a namespace this test creates, the prober
//! refuses to start with an error naming the check when `ping_group_range` excludes it, and
//! starts on unprivileged datagram sockets once the range includes it. The checks run in a
//! child copy of this test binary under `ip netns exec ... setpriv` (uid/gid 65534, no caps).

use crate::probe_support::{Netns, config, have, is_root, require, sh};
use std::process::Command;
use switchback::probe::{ProbeError, Prober, defs};

const INNER: &str = "SWITCHBACK_PROBE_PRIV_EXPECT";

/// Runs the inner test as nobody inside `ns`, expecting `expect` (`refused` or `ok`).
fn inner(ns: &Netns, expect: &str) {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("ip")
        .args([
            "netns", "exec", &ns.name, "setpriv", "--reuid", "65534", "--regid", "65534",
        ])
        .args(["--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(&exe)
        .args([
            "--ignored",
            "--exact",
            "probe_privilege::as_nobody",
            "--nocapture",
        ])
        .env(INNER, expect)
        .output()
        .expect("run inner test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "inner test ({expect}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn icmp_needs_ping_group_range_or_cap_net_raw() {
    if !(require("root (netns, setpriv)", is_root()) && require("setpriv", have("setpriv"))) {
        return;
    }
    let ns = Netns::new("priv");
    // A fresh namespace starts with ping_group_range = "1 0": nobody may use ICMP sockets.
    inner(&ns, "refused");
    sh(&[
        "ip",
        "netns",
        "exec",
        &ns.name,
        "sysctl",
        "-qw",
        "net.ipv4.ping_group_range=0 2147483647",
    ]);
    inner(&ns, "ok");
}

/// Runs only as the child of the test above.
#[test]
#[ignore = "run by icmp_needs_ping_group_range_or_cap_net_raw as an unprivileged child"]
fn as_nobody() {
    let Ok(expect) = std::env::var(INNER) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("crm.toml");
    let text = "[[check]]\nname = \"ping-me\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"127.0.0.1\"\n";
    std::fs::write(&path, text).expect("write");
    let file = defs::load(&path).expect("valid");
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    match (expect.as_str(), Prober::new(&cfg, vec![file])) {
        ("refused", Err(e @ ProbeError::IcmpUnavailable { .. })) => {
            let msg = e.to_string();
            assert!(msg.starts_with("check ping-me: "), "{msg}");
            assert!(
                msg.contains("ping_group_range") && msg.contains("CAP_NET_RAW"),
                "{msg}"
            );
        }
        ("ok", Ok(_)) => {}
        (want, got) => panic!("expected {want}, got {:?}", got.err()),
    }
}
