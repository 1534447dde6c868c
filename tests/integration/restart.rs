//! Issue #2 item 6: a switch made through the CLI survives kill -9 and a restart; SIGTERM
//! shuts the node down cleanly; a corrupt decision file stops the restart with its path.

use crate::harness::{NodeDir, service};

#[test]
fn switch_survives_kill9_and_restart() {
    let dir = NodeDir::new();
    let node = dir.start();
    let before = node.status();
    let crm = service(&before, "crm");
    assert_eq!(crm["active_site"], "bj", "{before}");
    let epoch0 = crm["epoch"].as_u64().expect("epoch");

    node.cli_ok(&[
        "switch",
        "crm",
        "--to",
        "sh",
        "--reason",
        "it: kill -9 test",
        "--force",
    ]);
    let after = node.status();
    let crm = service(&after, "crm");
    assert_eq!(crm["active_site"], "sh", "{after}");
    let epoch = crm["epoch"].as_u64().expect("epoch");
    assert!(epoch > epoch0, "epoch did not grow: {epoch0} -> {epoch}");

    node.kill9();
    let node = dir.start();
    let restarted = node.status();
    let crm = service(&restarted, "crm");
    assert_eq!(crm["active_site"], "sh", "{restarted}");
    assert_eq!(crm["epoch"].as_u64(), Some(epoch), "{restarted}");

    // The operator's switch is in the audit log, with its reason.
    let history = node.cli_ok(&["history", "crm", "--limit", "50"]);
    assert!(history.contains("it: kill -9 test"), "{history}");
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = NodeDir::new();
    let node = dir.start();
    let status = node.terminate();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[test]
fn corrupt_decision_file_stops_restart_with_its_path() {
    let dir = NodeDir::new();
    let node = dir.start();
    node.cli_ok(&[
        "switch",
        "crm",
        "--to",
        "sh",
        "--reason",
        "before corruption",
        "--force",
    ]);
    node.kill9();
    let file = dir.state().join("decisions/crm.json");
    let text = std::fs::read(&file).expect("decision file exists");
    std::fs::write(&file, &text[..text.len() / 2]).expect("truncate");
    let stderr = crate::harness::serve_refused(&dir.config(), "on a corrupt decision file");
    assert!(
        stderr.contains(&file.display().to_string()),
        "path not named: {stderr}"
    );
    // Never silently reset: the file is left as it was for the operator.
    assert_eq!(
        std::fs::read(&file).expect("still there"),
        &text[..text.len() / 2]
    );
}

/// kill -9 lands at a random point while switches stream in (mid-fsync, mid-rename, mid-append):
/// the restart resumes the last acknowledged decision, or the one in flight, never anything else.
#[test]
fn kill9_at_random_points_during_switches_resumes_a_committed_decision() {
    use rand::Rng;
    let dir = NodeDir::new();
    let mut rng = rand::rng();
    for round in 0..3 {
        let node = dir.start();
        let start = service(&node.status(), "crm")["active_site"] == "sh";
        let pid = node.pid().to_string();
        let delay = std::time::Duration::from_millis(rng.random_range(20..400));
        // A delay here picks *where* the crash lands; nothing waits on it for correctness.
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
        });
        let mut acked: Option<(u64, String)> = None;
        let mut in_flight;
        let mut i = u64::from(start);
        loop {
            let to = if i % 2 == 0 { "sh" } else { "bj" };
            in_flight = to.to_owned();
            let out = node.cli(&[
                "switch", "crm", "--to", to, "--reason", "hammer", "--force", "--json",
            ]);
            if !out.status.success() {
                break;
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let epoch = v["service"]["epoch"].as_u64().expect("epoch");
            assert_eq!(v["service"]["active_site"], to);
            acked = Some((epoch, to.to_owned()));
            i += 1;
        }
        killer.join().expect("killer");
        eprintln!(
            "round {round}: killed after {delay:?}, {i} switches acknowledged, in flight {in_flight}"
        );
        node.kill9();

        let node = dir.start();
        let crm = service(&node.status(), "crm").clone();
        let (epoch, site) = (
            crm["epoch"].as_u64().expect("epoch"),
            crm["active_site"].as_str().expect("site").to_owned(),
        );
        if let Some((e, s)) = acked {
            let ok = (epoch == e && site == s) || (epoch == e + 1 && site == in_flight);
            assert!(
                ok,
                "round {round}: acknowledged ({e}, {s}), in flight {in_flight}, resumed ({epoch}, {site})"
            );
        }
        node.kill9();
    }
}

#[test]
fn second_node_on_the_same_state_dir_is_refused() {
    let dir = NodeDir::new();
    let _node = dir.start();
    let stderr = crate::harness::serve_refused(&dir.config(), "two nodes on one store");
    assert!(
        stderr.contains("locked by another switchback process"),
        "{stderr}"
    );
}
