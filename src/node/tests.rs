//! The node in-process: startup from the store, commands through the API, observations
//! refused and counted, restart resuming the committed decision, shutdown finishing.

use super::*;
use crate::config::*;
use crate::fixture;
use crate::model::{Health, Observation, Timestamp};
use std::path::Path;
use std::time::Duration;

/// The vote key the test config's `votes.key_files` holds.
pub(crate) const KEY: &str = "vote-key-for-tests";
const TOKEN: &str = "t0ken";

/// A one-node config: sites bj/sh, service crm, voter `p1`, files under `dir`.
pub(crate) fn config(dir: &Path) -> Config {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    std::fs::write(dir.join("votes.key"), KEY).unwrap();
    let policy = Policy {
        quorum: 1,
        min_domains: 1,
        confirm_timeout: Duration::from_secs(300),
        ..fixture::policy()
    };
    let voters = vec![Voter {
        id: "p1".into(),
        domain: "bj".into(),
    }];
    let mut c = fixture::config_owned(&[], voters, policy.clone());
    let ip = |t: &str| t.parse().unwrap();
    let mut crm = fixture::service("crm", ip("127.0.1.10"), ip("127.0.2.10"), policy);
    crm.probes = dir.join("probes.toml");
    c.services = vec![crm];
    c.source = dir.join("switchback.toml");
    c.node.id = "n1".into();
    c.node.state_dir = dir.join("state");
    c.votes.key_files = vec![dir.join("votes.key")];
    c.votes.stale_after = Duration::from_secs(5);
    c.dns.listen.clear();
    c.admin.listen = "127.0.0.1:0".parse().unwrap();
    c.admin.token_file = Some(dir.join("token"));
    c
}

/// A node running in this test's runtime.
struct Running {
    url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), NodeError>>,
    http: reqwest::Client,
}

impl Running {
    async fn start(cfg: Config) -> Self {
        let listeners = Listeners::bind(&cfg).await.unwrap();
        let url = format!("http://{}", listeners.admin.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(cfg, listeners, shutdown.clone()));
        let http = reqwest::Client::new();
        Self {
            url,
            shutdown,
            task,
            http,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn crm(&self) -> serde_json::Value {
        let (code, body) = self.get("/v1/status").await;
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["services"][0].clone()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        // The whole drain is bounded by GRACE inside `run`; this outer bound only turns a
        // hang into a test failure.
        let joined = tokio::time::timeout(GRACE * 2, self.task).await;
        joined.expect("shutdown finished").unwrap().unwrap();
    }
}

#[tokio::test]
async fn starts_at_primary_switches_and_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = Running::start(config(dir.path())).await;
    let (code, _) = node.get("/ready").await;
    assert_eq!(code, 200);
    let crm = node.crm().await;
    assert_eq!(crm["name"], "crm");
    assert_eq!(crm["active_site"], "bj");
    let epoch0 = crm["epoch"].as_u64().unwrap();

    let body = r#"{"to":"sh","reason":"drill","force":true}"#;
    let (code, answer) = node
        .post("/v1/services/crm/switch", Some(TOKEN), body)
        .await;
    assert_eq!(code, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["service"]["active_site"], "sh");
    let epoch = answer["service"]["epoch"].as_u64().unwrap();
    assert!(epoch > epoch0);
    node.stop().await;

    let node = Running::start(config(dir.path())).await;
    let crm = node.crm().await;
    assert_eq!(
        (crm["active_site"].as_str(), crm["epoch"].as_u64()),
        (Some("sh"), Some(epoch))
    );
    let (code, history) = node.get("/v1/history?service=crm&limit=10").await;
    assert_eq!(code, 200);
    assert!(history.contains("drill"), "{history}");
    let (code, metrics) = node.get("/metrics").await;
    assert_eq!(code, 200);
    assert!(metrics.contains("switchback_ready 1"), "{metrics}");
    node.stop().await;

    // The audit log is a replayable scenario: replaying its inputs yields its outputs.
    let log = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    let recorded: Vec<crate::policy::AuditRecord> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &crate::policy::AuditRecord| {
            matches!(r.entry, crate::policy::AuditEntry::Output(_))
        })
        .collect();
    let replayed = crate::policy::replay(log.as_bytes(), &config(dir.path())).unwrap();
    assert!(recorded.len() >= 2, "{log}");
    assert_eq!(
        replayed, recorded,
        "audit log does not replay to itself:\n{log}"
    );
}

#[tokio::test]
async fn command_errors_map_to_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let node = Running::start(config(dir.path())).await;
    let sw = r#"{"to":"sh","reason":"x"}"#;
    for (path, token, body, want) in [
        ("/v1/services/crm/switch", None, sw, 401),
        ("/v1/services/crm/switch", Some("wrong"), sw, 401),
        ("/v1/services/nope/switch", Some(TOKEN), sw, 404),
        (
            "/v1/services/crm/switch",
            Some(TOKEN),
            r#"{"to":"mars","reason":"x"}"#,
            400,
        ),
        (
            "/v1/services/crm/switch",
            Some(TOKEN),
            r#"{"to":"sh"}"#,
            400,
        ),
        ("/v1/services/crm/switch", Some(TOKEN), "not json", 400),
        // An empty reason leaves the audit log without an account of the move (issue #13).
        (
            "/v1/services/crm/switch",
            Some(TOKEN),
            r#"{"to":"sh","reason":"  ","force":true}"#,
            400,
        ),
        ("/v1/services/crm/approve", Some(TOKEN), "", 409),
        ("/v1/services/crm/reject", Some(TOKEN), "", 409),
        // Nobody has seen sh up and force is not set.
        ("/v1/services/crm/switch", Some(TOKEN), sw, 409),
    ] {
        let (code, answer) = node.post(path, token, body).await;
        assert_eq!(code, want, "{path} {body}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
    let (code, _) = node.get("/v1/history?service=nope").await;
    assert_eq!(code, 404);
    assert_eq!(node.crm().await["active_site"], "bj");
    node.stop().await;
}

/// An observation from `node` seeing both sites up.
pub(crate) fn observation(node: &str, seq: u64, at: Timestamp) -> Observation {
    let up = fixture::view(Health::Up, Health::Unknown, Health::Unknown);
    fixture::obs(node, "bj", seq, at.0)
        .site("bj", up.clone())
        .site("sh", up)
        .build()
}

#[tokio::test]
async fn observations_are_verified_and_drops_counted() {
    let dir = tempfile::tempdir().unwrap();
    let node = Running::start(config(dir.path())).await;
    let now = Timestamp::now();
    let post = |body: String| {
        let node = &node;
        async move { node.post("/v1/observations", None, &body).await }
    };
    let good = Verifier::sign(KEY.as_bytes(), &observation("p1", 1, now));
    let (code, a) = post(serde_json::to_string(&good).unwrap()).await;
    assert_eq!(code, 200, "{a}");
    let (code, a) = post(serde_json::to_string(&good).unwrap()).await;
    assert_eq!(code, 409, "replay: {a}");
    let forged = Verifier::sign(b"other key", &observation("p1", 2, now));
    let (code, a) = post(serde_json::to_string(&forged).unwrap()).await;
    assert_eq!(code, 401, "bad signature: {a}");
    let stranger = Verifier::sign(KEY.as_bytes(), &observation("p9", 1, now));
    let (code, a) = post(serde_json::to_string(&stranger).unwrap()).await;
    assert_eq!(code, 401, "unknown voter: {a}");
    let (code, a) = post("{\"observation\": 3}".to_owned()).await;
    assert_eq!(code, 400, "malformed: {a}");
    let (_, metrics) = node.get("/metrics").await;
    for line in [
        "switchback_observations_accepted_total 1",
        "switchback_observations_dropped_total{reason=\"replayed\"} 1",
        "switchback_observations_dropped_total{reason=\"bad_signature\"} 1",
        "switchback_observations_dropped_total{reason=\"unknown_voter\"} 1",
        "switchback_observations_dropped_total{reason=\"malformed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    // The accepted vote shows in /v1/votes.
    let (code, votes) = node.get("/v1/votes").await;
    assert_eq!(code, 200);
    assert!(votes.contains("p1"), "{votes}");
    node.stop().await;
}

#[tokio::test]
async fn corrupt_store_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    std::fs::create_dir_all(cfg.node.state_dir.join("decisions")).unwrap();
    let file = cfg.node.state_dir.join("decisions/crm.json");
    std::fs::write(&file, "{\"decision\": ").unwrap();
    let listeners = Listeners::bind(&cfg).await.unwrap();
    let err = run(cfg, listeners, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn dashboard_and_readiness_answer() {
    let dir = tempfile::tempdir().unwrap();
    let node = Running::start(config(dir.path())).await;
    let (code, page) = node.get("/").await;
    assert_eq!(code, 200);
    assert!(page.contains("/v1/dashboard"), "{page}");
    node.stop().await;
}

/// Fail-stop: when a commit cannot be made durable the command fails with 500, nothing is
/// published, and the node stops with the store error rather than run on diverged state.
#[tokio::test]
async fn store_failure_stops_the_node_without_publishing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let decisions = cfg.node.state_dir.join("decisions");
    let node = Running::start(cfg).await;
    assert_eq!(node.crm().await["active_site"], "bj");
    // Even root cannot create a file inside a regular file.
    std::fs::remove_dir_all(&decisions).unwrap();
    std::fs::write(&decisions, "not a directory").unwrap();
    let body = r#"{"to":"sh","reason":"doomed","force":true}"#;
    let (code, answer) = node
        .post("/v1/services/crm/switch", Some(TOKEN), body)
        .await;
    assert_eq!(code, 500, "{answer}");
    let result = tokio::time::timeout(GRACE * 2, node.task)
        .await
        .expect("node stopped");
    match result.unwrap() {
        Err(NodeError::Decide(e)) => {
            assert!(e.to_string().contains("decisions"), "{e}");
        }
        other => panic!("node did not fail-stop on a store error: {other:?}"),
    }
}
