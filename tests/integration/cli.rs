//! The operator verbs and admin API errors, end to end against the real binary.

use crate::harness::{NodeDir, TOKEN, bin, service};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn writes_without_token_are_401() {
    let dir = NodeDir::new();
    let node = dir.start();
    // Raw HTTP: no Authorization header at all.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("{}/v1/services/crm/switch", node.url());
    let (code, body) = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"to":"sh","reason":"x"}"#)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.expect("body"))
    });
    assert_eq!(code, 401, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
    assert!(json["error"].as_str().is_some(), "{body}");
    // Through the CLI with a wrong token.
    let out = std::process::Command::new(bin())
        .args([
            "switch",
            "crm",
            "--to",
            "sh",
            "--reason",
            "x",
            "--admin",
            &node.url(),
        ])
        .args(["--token", "not-the-token"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    // Nothing changed.
    assert_eq!(service(&node.status(), "crm")["active_site"], "bj");
}

#[test]
fn unknown_service_is_404() {
    let dir = NodeDir::new();
    let node = dir.start();
    let out = node.cli(&["switch", "nope", "--to", "sh", "--reason", "x"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("404") && err.contains("nope"), "{err}");
}

#[test]
fn switch_to_unknown_site_is_a_clear_error() {
    let dir = NodeDir::new();
    let node = dir.start();
    let out = node.cli(&["switch", "crm", "--to", "mars", "--reason", "x", "--force"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("400") && err.contains("unknown site") && err.contains("mars"),
        "{err}"
    );
    assert_eq!(service(&node.status(), "crm")["active_site"], "bj");
}

#[test]
fn status_is_human_readable_by_default() {
    let dir = NodeDir::new();
    let node = dir.start();
    let text = node.cli_ok(&["status"]);
    let row = text
        .lines()
        .find(|l| l.starts_with("crm "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains(" bj "), "{text}");
    // The token from the environment works too.
    let out = std::process::Command::new(bin())
        .args(["maintenance", "crm", "on", "--admin", &node.url()])
        .env("SWITCHBACK_TOKEN", TOKEN)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(service(&node.status(), "crm")["maintenance"], true);
}

#[test]
fn bad_config_exits_64_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[node]\nid = \"x\"\nsurprise = 1\n").expect("write");
    let out = std::process::Command::new(bin())
        .args(["serve", "-c"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.toml"), "{}", stderr(&out));
}

#[test]
fn json_log_format_writes_one_object_per_line() {
    let dir = NodeDir::new();
    let mut node = dir.start_with(&["--log-format", "json"]);
    node.cli_ok(&[
        "switch",
        "crm",
        "--to",
        "sh",
        "--reason",
        "json logs",
        "--force",
    ]);
    // The line may still be in the pipe when the CLI returns: wait for it, not for time.
    node.wait_for_line("json logs");
    let log = node.log();
    let mut committed = false;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        committed |=
            v["fields"]["message"] == "decision committed" && v["fields"]["active_site"] == "sh";
    }
    assert!(committed, "no structured commit event in\n{log}");
}

#[test]
fn approve_and_reject_with_nothing_pending_are_409() {
    let dir = NodeDir::new();
    let node = dir.start();
    for verb in ["approve", "reject"] {
        let out = node.cli(&[verb, "crm"]);
        assert!(
            !out.status.success(),
            "{verb} succeeded with nothing pending"
        );
        let err = stderr(&out);
        assert!(
            err.contains("409") && err.contains("nothing pending"),
            "{verb}: {err}"
        );
    }
    let history = node.cli_ok(&["history", "crm", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&history).expect("json");
    let refused = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| {
            r["input"]["command"].get("approve").is_some()
                || r["input"]["command"].get("reject").is_some()
        })
        .count();
    assert_eq!(
        refused, 2,
        "refused commands belong in the audit trail: {history}"
    );
}

#[test]
fn unreachable_admin_api_is_a_clear_error() {
    // A free loopback port outside the ephemeral range: nothing listens there.
    let addr = format!("127.0.0.1:{}", crate::ports::free_port());
    let out = std::process::Command::new(bin())
        .args(["status", "--admin", &format!("http://{addr}")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the admin API"), "{err}");
}
