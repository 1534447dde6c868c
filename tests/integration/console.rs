//! The operator's console end to end against the real binary: every admin endpoint with and
//! without the token, the CLI's tables, reload (refused and accepted), the metrics page
//! through Prometheus's own parser (`promtool check metrics`) and the shipped alert rules
//! through `promtool check rules` / `promtool test rules`.

use crate::dns_support::require;
use crate::harness::{Node, NodeDir, TOKEN, bin, service};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One HTTP exchange: status, ETag and body.
pub(crate) fn http(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    if_none_match: Option<&str>,
) -> (u16, Option<String>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let mut req = match method {
            "GET" => c.get(url),
            _ => c.post(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t).header("x-switchback-operator", "tester");
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        if let Some(tag) = if_none_match {
            req = req.header("if-none-match", tag);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, etag, r.text().await.expect("body"))
    })
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_endpoint_with_and_without_the_token() {
    let dir = NodeDir::new();
    let mut node = dir.start();
    let base = node.url();
    let u = |p: &str| format!("{base}{p}");
    // Reads are open.
    for path in [
        "/",
        "/ready",
        "/metrics",
        "/v1/status",
        "/v1/votes",
        "/v1/checks",
        "/v1/history",
        "/v1/dashboard",
        "/v1/services/crm",
        "/v1/drills",
    ] {
        let (code, _, body) = http("GET", &u(path), None, None, None);
        assert_eq!(code, 200, "GET {path}: {body}");
    }
    for path in ["/v1/services/nope", "/v1/drills/nope"] {
        let (code, _, body) = http("GET", &u(path), None, None, None);
        assert_eq!(code, 404, "GET {path}: {body}");
    }
    // The dashboard document: an ETag, and 304 while nothing changed.
    let (_, etag, body) = http("GET", &u("/v1/dashboard"), None, None, None);
    let etag = etag.expect("ETag on /v1/dashboard");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("dashboard JSON");
    assert_eq!(doc["services"][0]["name"], "crm", "{doc}");
    assert!(doc["enactors"].as_array().is_some(), "{doc}");
    // An embedded store's cluster: this node alone, leading itself, not stale.
    assert_eq!(doc["cluster"]["role"], "single", "{doc}");
    assert_eq!(doc["cluster"]["leader"], doc["node"], "{doc}");
    let me = &doc["cluster"]["authorities"];
    assert_eq!(me.as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(me[0]["node"], doc["node"], "{doc}");
    assert_eq!(
        (me[0]["stale"].clone(), me[0]["gone"].clone()),
        (false.into(), false.into()),
        "{doc}"
    );
    let (code, _, body) = http("GET", &u("/v1/dashboard"), None, None, Some(&etag));
    assert_eq!(code, 304, "unchanged dashboard answers 304: {body}");
    assert!(body.is_empty());
    // Writes: 401 without a token, 401 with a wrong one, then an answer with the right one.
    let writes: [(&str, &str, u16); 8] = [
        ("/v1/services/crm/maintenance", r#"{"on":true}"#, 200),
        ("/v1/services/crm/maintenance", r#"{"on":false}"#, 200),
        ("/v1/services/crm/approve", "{}", 409),
        ("/v1/services/crm/reject", "{}", 409),
        ("/v1/services/crm/readmit", r#"{"site":"sh"}"#, 200),
        ("/v1/services/crm/drill", r#"{"to":"sh","hold":"1s"}"#, 409),
        (
            "/v1/services/crm/switch",
            r#"{"to":"sh","reason":"endpoint test","force":true}"#,
            200,
        ),
        // Last: a good reload restarts the node's roles.
        ("/v1/reload", "{}", 200),
    ];
    for (path, body, want) in writes {
        let (code, _, text) = http("POST", &u(path), None, Some(body), None);
        assert_eq!(code, 401, "POST {path} without token: {text}");
        let (code, _, text) = http("POST", &u(path), Some("wrong"), Some(body), None);
        assert_eq!(code, 401, "POST {path} with a wrong token: {text}");
        let (code, _, text) = http("POST", &u(path), Some(TOKEN), Some(body), None);
        assert_eq!(code, want, "POST {path} with the token: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON answer");
        if want != 200 {
            assert!(v["error"].as_str().is_some(), "{path}: {text}");
        }
    }
    node.wait_for_line("reloaded");
    node.wait_for_line("node ready");
    // The operator's name is in the audit trail and on the service's timeline.
    let (_, _, text) = http("GET", &u("/v1/services/crm"), None, None, None);
    let v: serde_json::Value = serde_json::from_str(&text).expect("service JSON");
    assert_eq!(v["service"]["active_site"], "sh", "{v}");
    let timeline = v["service"]["timeline"].to_string();
    assert!(
        timeline.contains("tester asked to switch to sh"),
        "{timeline}"
    );
}

#[test]
fn cli_tables_and_errors_against_a_running_node() {
    let dir = NodeDir::new();
    let node = dir.start();
    let status = node.cli_ok(&["status"]);
    assert!(status.starts_with("SERVICE  ACTIVE  EPOCH"), "{status}");
    assert!(
        status
            .lines()
            .skip_while(|l| !l.starts_with("AUTHORITY"))
            .nth(1)
            .is_some_and(|l| l.contains(" * ") && l.contains("single") && l.contains(" ok ")),
        "this node, alone, in the authorities table: {status}"
    );
    let votes = node.cli_ok(&["votes"]);
    assert!(
        votes.starts_with("(no votes)") || votes.starts_with("PROBE"),
        "{votes}"
    );
    // A write with --by: the name is what the audit log keeps.
    node.cli_ok(&["maintenance", "crm", "on", "--by", "alice"]);
    let history = node.cli_ok(&["history", "crm"]);
    let first = history.lines().next().unwrap_or_default();
    assert!(first.starts_with("WHEN"), "a table: {history}");
    assert!(
        history.contains("alice turned maintenance on"),
        "plain words with the operator's name: {history}"
    );
    assert!(
        !history.contains('{'),
        "no raw JSON without --json: {history}"
    );
    // A drill on a service in maintenance is refused.
    let out = node.cli(&["drill", "crm", "--hold", "1s"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("maintenance"), "{}", stderr(&out));
    node.cli_ok(&["maintenance", "crm", "off", "--by", "alice"]);
    // A refused switch to a site nobody sees up says how to insist.
    let out = node.cli(&["switch", "crm", "--to", "sh", "--reason", "x"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    // An unknown service lists the configured ones.
    let out = node.cli(&["approve", "nope"]);
    assert!(stderr(&out).contains("configured: crm"), "{}", stderr(&out));
    // Every cause once.
    let out = Command::new(bin())
        .args(["switch", "crm", "--to", "sh", "--reason", "x"])
        .args(["--admin", &node.url(), "--token-file", "/nonexistent/token"])
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "each cause once: {err}"
    );
}

/// `promtool` or a loud failure under CI.
fn promtool() -> Option<PathBuf> {
    require("promtool")
}

fn project(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn metrics_page_passes_prometheus_parser_and_rules_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    let dir = NodeDir::new();
    let node = dir.start();
    let text = node.get("/metrics");
    for family in [
        "switchback_service_epoch{service=\"crm\"} 1",
        "switchback_site_verdict{service=\"crm\",site=\"bj\",state=\"unknown\"} 1",
        "switchback_probes{state=\"counting\"} 0",
        "switchback_dns_responses_total{rcode=\"NOERROR\"}",
        "# TYPE switchback_enact_apply_seconds histogram",
    ] {
        assert!(text.contains(family), "{family} missing in\n{text}");
    }
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("feed promtool");
    }
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let rules = project("deploy/prometheus");
    for args in [
        ["check", "rules", "switchback-rules.yml"],
        ["test", "rules", "switchback-rules.test.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(&rules)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }
    let grafana: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project("deploy/grafana/switchback.json")).expect("grafana"),
    )
    .expect("Grafana dashboard is JSON");
    assert!(grafana["panels"].as_array().is_some_and(|p| p.len() > 5));
}

fn sighup(node: &Node) {
    let status = Command::new("kill")
        .args(["-HUP", &node.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
}

#[test]
fn reload_refuses_a_bad_config_and_applies_a_good_one() {
    let dir = NodeDir::new();
    let mut node = dir.start();
    node.cli_ok(&[
        "switch",
        "crm",
        "--to",
        "sh",
        "--reason",
        "before reload",
        "--force",
    ]);
    let good = std::fs::read_to_string(dir.config()).expect("config");
    // A bad config: refused with check's message naming file and key, the node keeps running.
    std::fs::write(dir.config(), format!("{good}\n[surprise]\nkey = 1\n")).expect("write");
    let out = node.cli(&["reload"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("switchback.toml") && err.contains("surprise"),
        "check's message: {err}"
    );
    sighup(&node);
    node.wait_for_line("reload refused");
    assert_eq!(service(&node.status(), "crm")["active_site"], "sh");
    // A good one (crm's policy changes to confirm): the roles restart on the same address and
    // the committed state carries on.
    std::fs::write(
        dir.config(),
        good.replace(r#"{ mode = "auto" }"#, r#"{ mode = "confirm" }"#),
    )
    .expect("write");
    let out = node.cli_ok(&["reload"]);
    assert!(out.contains("reload accepted"), "{out}");
    node.wait_for_line("reloaded");
    node.wait_for_line("node ready");
    let crm = service(&node.status(), "crm").clone();
    assert_eq!(crm["active_site"], "sh", "{crm}");
    assert_eq!(crm["epoch"], 2, "{crm}");
    assert_eq!(crm["mode"], "confirm", "the new policy applies: {crm}");
}

#[test]
fn probe_once_exits_1_when_a_check_is_down() {
    use crate::failover::{StandIn, http_check};
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr)),
        r#"{ mode = "auto" }"#,
    );
    let once = || {
        Command::new(bin())
            .args(["probe", "--once", "-c"])
            .arg(dir.config())
            .output()
            .expect("run probe --once")
    };
    let out = once();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    sh.up.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = once();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("app-sh") && table.contains("down"),
        "{table}"
    );
}

#[test]
fn history_reads_across_rotated_audit_files() {
    let dir = NodeDir::new();
    let mut text = std::fs::read_to_string(dir.config()).expect("config");
    text.push_str("\n[audit]\nmax_size = \"4KiB\"\nkeep = 3\n");
    std::fs::write(dir.config(), text).expect("write config");
    let node = dir.start();
    for i in 0..12 {
        let state = if i % 2 == 0 { "on" } else { "off" };
        node.cli_ok(&["maintenance", "crm", state, "--by", &format!("op{i}")]);
    }
    assert!(
        dir.state().join("audit.jsonl.1").exists(),
        "the log rotated"
    );
    let history = node.cli_ok(&["history", "crm", "--limit", "200"]);
    // The first command's records live in a rotated file now.
    assert!(history.contains("op0 turned maintenance on"), "{history}");
    assert!(history.contains("op11 turned maintenance off"), "{history}");
}
