//! Alerts end to end through the real binary: a real Alertmanager lists the failover with the
//! right labels and drops it on the resolve; local receivers (webhook with HMAC, PagerDuty v2
//! validator, one that fails then recovers, one that hangs) and an exec sink; kill -9 with
//! undelivered events and a restart deliver each exactly once; three independent authorities
//! raising the same decision make one alert in Alertmanager.

use crate::alert_support::{Alertmanager, Mode, PD_KEY, Receiver};
use crate::dns_support::require;
use crate::failover::{StandIn, http_check};
use crate::harness::NodeDir;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

/// A probing authority on the two stand-ins, with `sinks` appended as `[[alert]]` tables.
fn node_dir(bj: SocketAddr, sh: SocketAddr, id: &str, sinks: &str) -> NodeDir {
    node_dir_with(bj, sh, id, sinks, "auto")
}

fn node_dir_with(bj: SocketAddr, sh: SocketAddr, id: &str, sinks: &str, mode: &str) -> NodeDir {
    let dir = NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj), http_check("sh", sh)),
        &format!(
            r#"{{ mode = "{mode}", quorum = 1, min_domains = 1, hold_down = "300ms", confirm_timeout = "10m" }}"#
        ),
    );
    let text = std::fs::read_to_string(dir.config()).expect("read config");
    let text = text.replace("id = \"it-1\"", &format!("id = \"{id}\""));
    std::fs::write(dir.config(), format!("{text}\n{sinks}")).expect("write config");
    dir
}

fn am_sink(am: &Alertmanager) -> String {
    format!(
        "[[alert]]\nkind = \"alertmanager\"\nurl = \"{}\"\n\n",
        am.url
    )
}

/// Alertmanager's active alerts named `switchback_{kind}` for crm.
fn am_alerts(am: &Alertmanager, kind: &str) -> Vec<serde_json::Value> {
    am.alerts()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            a["labels"]["alertname"] == format!("switchback_{kind}")
                && a["labels"]["service"] == "crm"
        })
        .collect()
}

#[test]
fn failover_reaches_alertmanager_webhook_pagerduty_and_exec_and_resolve_closes_it() {
    let Some(am_bin) = require("prometheus-alertmanager") else {
        return;
    };
    let am = Alertmanager::start(&am_bin);
    let hook = Receiver::start(Mode::Accept);
    let pd = Receiver::start(Mode::Pagerduty);
    let flaky = Receiver::start(Mode::FailFirst(2));
    let hang = Receiver::start(Mode::Hang);
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let work = tempfile::tempdir().expect("tempdir");
    let exec_out = work.path().join("exec.log");
    std::fs::write(work.path().join("pd.key"), format!("{PD_KEY}\n")).expect("key");
    std::fs::write(work.path().join("hmac.secret"), "s3cret\n").expect("secret");
    let sinks = format!(
        "{am}[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\n\
         headers = {{ X-Team = \"noc\" }}\nhmac_secret_file = \"{secret}\"\n\n\
         [[alert]]\nname = \"pd\"\nkind = \"pagerduty\"\nurl = \"{pd}\"\nrouting_key_file = \"{key}\"\n\
         min_severity = \"warning\"\n\n\
         [[alert]]\nname = \"flaky\"\nkind = \"webhook\"\nurl = \"{flaky}\"\nkinds = [\"failover\"]\n\n\
         [[alert]]\nname = \"hang\"\nkind = \"webhook\"\nurl = \"{hang}\"\ntimeout = \"300ms\"\nmax_age = \"1s\"\n\
         kinds = [\"failover\"]\n\n\
         [[alert]]\nname = \"script\"\nkind = \"exec\"\nkinds = [\"failover\"]\n\
         command = [\"/bin/sh\", \"-c\", \"printf '%s %s %s\\\\n' \\\"$SWITCHBACK_ACTION\\\" \\\"$SWITCHBACK_KEY\\\" \\\"$(cat)\\\" >> {out}\"]\n",
        am = am_sink(&am),
        hook = hook.url,
        pd = pd.url,
        flaky = flaky.url,
        hang = hang.url,
        secret = work.path().join("hmac.secret").display(),
        key = work.path().join("pd.key").display(),
        out = exec_out.display(),
    );
    let dir = node_dir(bj.addr, sh.addr, "it-1", &sinks);
    let mut node = dir.start();

    // The primary fails: one failover incident everywhere.
    bj.up.store(false, Ordering::SeqCst);
    node.wait_for_each([
        "alert delivered sink=alertmanager key=failover/crm action=\"trigger\"",
        "alert delivered sink=pd key=failover/crm action=\"trigger\"",
        "alert delivered sink=flaky key=failover/crm action=\"trigger\" failures=2",
        "alert delivered sink=script key=failover/crm action=\"trigger\"",
        "alert undeliverable for longer than max_age",
    ]);
    let firing = am_alerts(&am, "failover");
    assert_eq!(firing.len(), 1, "{firing:#?}");
    let labels = &firing[0]["labels"];
    assert_eq!(labels["dedup_key"], "failover/crm");
    assert_eq!(labels["severity"], "critical");
    assert_eq!(firing[0]["annotations"]["node"], "it-1");
    assert_eq!(firing[0]["annotations"]["epoch"], "2");
    assert!(
        firing[0]["annotations"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("bj → sh")
    );
    assert_eq!(firing[0]["status"]["state"], "active");

    // The webhook got the document, signed, with its custom header.
    let got = hook.wait_until("the failover trigger", |g| {
        g.iter().any(|x| x.body["key"] == "failover/crm")
    });
    let trigger = got
        .iter()
        .find(|x| x.body["key"] == "failover/crm")
        .expect("trigger");
    let header = |name: &str| {
        trigger
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("x-team"), "noc");
    assert_eq!(
        header("x-switchback-signature"),
        switchback_signature("s3cret", &trigger.raw)
    );
    assert_eq!(trigger.body["action"], "trigger");
    assert_eq!(trigger.body["service"], "crm");
    assert_eq!(trigger.body["epoch"], 2);
    assert_eq!(trigger.body["sites"], serde_json::json!(["bj", "sh"]));
    assert!(
        trigger.body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("app down")
    );
    // The hanging receiver's event went to the dead-letter file.
    let dead =
        std::fs::read_to_string(dir.state().join("alerts/hang/dead.jsonl")).expect("dead letters");
    assert!(dead.contains("failover/crm"), "{dead}");

    // The operator on call takes it in hand: PagerDuty, the webhook and the script are told;
    // Alertmanager, which has no acknowledge, is not sent one.
    let queued = node.cli_ok(&["alert", "ack", "failover/crm"]);
    assert!(queued.contains("acknowledge of failover/crm"), "{queued}");
    let [spooled, ..] = node.wait_for_each([
        "alert spooled key=failover/crm action=\"acknowledge\"",
        "alert delivered sink=pd key=failover/crm action=\"acknowledge\"",
        "alert delivered sink=script key=failover/crm action=\"acknowledge\"",
        "alert delivered sink=hook key=failover/crm action=\"acknowledge\"",
    ]);
    assert!(
        spooled.contains("sinks=5"),
        "every sink but Alertmanager: {spooled}"
    );
    assert_eq!(am_alerts(&am, "failover").len(), 1, "still firing");

    // Failback by an operator: the same key resolves everywhere.
    bj.up.store(true, Ordering::SeqCst);
    node.cli_ok(&[
        "switch",
        "crm",
        "--to",
        "bj",
        "--reason",
        "primary repaired",
        "--force",
    ]);
    node.wait_for_each([
        "alert delivered sink=alertmanager key=failover/crm action=\"resolve\"",
        "alert delivered sink=pd key=failover/crm action=\"resolve\"",
        "alert delivered sink=script key=failover/crm action=\"resolve\"",
    ]);
    assert!(
        am_alerts(&am, "failover").is_empty(),
        "resolved alerts are not active"
    );
    let got = hook.wait_until("the resolve", |g| {
        g.iter()
            .any(|x| x.body["key"] == "failover/crm" && x.body["action"] == "resolve")
    });
    let resolve = got
        .iter()
        .find(|x| x.body["key"] == "failover/crm" && x.body["action"] == "resolve")
        .expect("resolve");
    assert_eq!(resolve.body["event"], "operator_switch");
    let pd_got = pd.wait_until("trigger, acknowledge and resolve", |g| {
        g.iter()
            .filter(|x| x.body["dedup_key"] == "failover/crm")
            .count()
            == 3
    });
    let actions: Vec<&str> = pd_got
        .iter()
        .filter(|x| x.body["dedup_key"] == "failover/crm")
        .map(|x| x.body["event_action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    assert!(
        pd.refused.lock().expect("lock").is_empty(),
        "PagerDuty bodies valid"
    );
    assert!(
        pd_got
            .iter()
            .all(|x| x.body["payload"]["severity"] != "info"),
        "min_severity = warning keeps info events away"
    );
    let lines = std::fs::read_to_string(&exec_out).expect("exec output");
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("trigger failover/crm {"), "{lines:?}");
    assert!(
        lines[1].starts_with("acknowledge failover/crm {"),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("resolve failover/crm {"), "{lines:?}");
}

/// `sha256=HEX` HMAC, computed independently of switchback's code.
fn switchback_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn kill9_with_pending_alerts_then_restart_delivers_each_exactly_once() {
    let receiver = Receiver::start(Mode::Switchable);
    receiver.down.store(true, Ordering::SeqCst);
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let sinks = format!(
        "[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        receiver.url
    );
    let dir = node_dir(bj.addr, sh.addr, "it-1", &sinks);
    let mut node = dir.start();
    bj.up.store(false, Ordering::SeqCst);
    // The failover's alerts are spooled and refused; crash while they are pending.
    node.wait_for_each([
        "alert spooled key=failover/crm action=\"trigger\"",
        "alert delivery failed; retrying",
    ]);
    let metrics = node.get("/metrics");
    let depth = metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchback_alert_spool_depth{sink=\"hook\"} "))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert!(
        depth.is_some_and(|d| d >= 1),
        "spool depth while refused: {depth:?}"
    );
    node.kill9();

    receiver.down.store(false, Ordering::SeqCst);
    let mut node = dir.start();
    node.wait_for_line("resuming alert delivery from the spool");
    // The crash may land before or after the enactment notice is spooled; either way this
    // start delivers it, and only then is the spool complete.
    node.wait_for_line("alert delivered sink=hook key=enacted/crm/it-1");
    // Everything this node ever spooled for the sink must arrive, each once.
    let queue =
        std::fs::read_to_string(dir.state().join("alerts/hook/queue.jsonl")).expect("queue");
    let spooled: Vec<serde_json::Value> = queue
        .lines()
        .map(|l| serde_json::from_str(l).expect("spool line"))
        .collect();
    assert!(
        spooled.iter().any(|e| e["event"]["key"] == "failover/crm"),
        "the failover was spooled: {queue}"
    );
    let n = spooled.len();
    let got = receiver.wait_until("every spooled event", |g| g.len() >= n);
    // A second start must not re-send what was acknowledged.
    node.terminate();
    let node = dir.start();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for g in receiver.all() {
        *ids.entry(g.body["id"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert!(ids.values().all(|&c| c == 1), "duplicates: {ids:?}");
    assert_eq!(
        receiver.all().len(),
        got.len(),
        "nothing new after a clean restart"
    );
    let queue =
        std::fs::read_to_string(dir.state().join("alerts/hook/queue.jsonl")).expect("queue");
    assert_eq!(
        queue.lines().count(),
        n,
        "the restart raised nothing new (noise state kept)"
    );
    let failover: Vec<&serde_json::Value> = receiver_bodies(&got)
        .into_iter()
        .filter(|b| b["key"] == "failover/crm")
        .collect();
    assert_eq!(failover.len(), 1, "{failover:?}");
    drop(node);
    assert!(
        !receiver.refused.lock().expect("lock").is_empty(),
        "it was refused before the crash"
    );
}

fn receiver_bodies(got: &[crate::alert_support::Got]) -> Vec<&serde_json::Value> {
    got.iter().map(|g| &g.body).collect()
}

#[test]
fn three_authorities_raising_the_same_failover_make_one_alert() {
    let Some(am_bin) = require("prometheus-alertmanager") else {
        return;
    };
    let am = Alertmanager::start(&am_bin);
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dirs: Vec<NodeDir> = ["bj-1", "sh-1", "arb-1"]
        .iter()
        .map(|id| node_dir(bj.addr, sh.addr, id, &am_sink(&am)))
        .collect();
    let mut nodes: Vec<_> = dirs.iter().map(NodeDir::start).collect();
    bj.up.store(false, Ordering::SeqCst);
    for n in &mut nodes {
        n.wait_for_line("alert delivered sink=alertmanager key=failover/crm action=\"trigger\"");
    }
    let firing = am_alerts(&am, "failover");
    assert_eq!(firing.len(), 1, "one incident, not three: {firing:#?}");
    // Each node's own enactment notice is its own alert.
    let enacted = am_alerts(&am, "enacted");
    let nodes_seen: std::collections::BTreeSet<String> = enacted
        .iter()
        .map(|a| {
            a["annotations"]["node"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(nodes_seen.len() <= 3, "{enacted:#?}");
    let mut f = std::io::stderr();
    let _ = writeln!(f, "alertmanager shows {} failover alert(s)", firing.len());
}

#[test]
fn alert_test_sends_through_every_sink_and_says_which_failed() {
    let ok = Receiver::start(Mode::Accept);
    let bad = Receiver::start(Mode::FailFirst(usize::MAX));
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let sinks = format!(
        "[[alert]]\nname = \"good\"\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[alert]]\nname = \"broken\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        ok.url, bad.url
    );
    let dir = node_dir(bj.addr, sh.addr, "it-1", &sinks);
    let run = |args: &[&str]| {
        std::process::Command::new(crate::harness::bin())
            .args(["alert", "test", "-c"])
            .arg(dir.config())
            .args(args)
            .output()
            .expect("run alert test")
    };
    let out = run(&["--sink", "good"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ok      good (webhook): key test/good trigger"),
        "{text}"
    );
    let got = ok.wait_until("the test event", |g| !g.is_empty());
    assert_eq!(got[0].body["kind"], "test");
    assert_eq!(got[0].body["node"], "it-1");

    let out = run(&["--resolve"]);
    assert!(!out.status.success(), "one sink fails: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 of 2 sink(s) failed"), "{err}");
    assert!(err.contains("FAILED  broken (webhook): POST"), "{err}");
    assert!(err.contains("HTTP 500"), "{err}");
    ok.wait_until("the test resolve", |g| {
        g.iter().any(|x| x.body["action"] == "resolve")
    });

    let out = run(&["--sink", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no [[alert]] sink named \"nope\"; configured: good, broken"),
        "{err}"
    );
}

#[test]
fn confirm_mode_pages_with_the_deadline_and_approval_resolves_it() {
    let hook = Receiver::start(Mode::Accept);
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let sinks = format!(
        "[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url
    );
    let dir = node_dir_with(bj.addr, sh.addr, "it-1", &sinks, "confirm");
    let mut node = dir.start();
    bj.up.store(false, Ordering::SeqCst);
    let got = hook.wait_until("the approval page", |g| {
        g.iter().any(|x| x.body["key"] == "approval/crm")
    });
    let page = got
        .iter()
        .find(|x| x.body["key"] == "approval/crm")
        .expect("page");
    assert_eq!(page.body["action"], "trigger");
    assert_eq!(page.body["severity"], "critical");
    assert_eq!(page.body["event"], "awaiting_approval");
    assert!(
        page.body["details"]["deadline"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{}",
        page.body
    );
    assert!(
        page.body["details"]["approve"]
            .as_str()
            .unwrap_or_default()
            .contains("switchback approve crm"),
        "{}",
        page.body
    );
    node.cli_ok(&["approve", "crm"]);
    let got = hook.wait_until("the approval resolved and the failover", |g| {
        g.iter()
            .any(|x| x.body["key"] == "approval/crm" && x.body["action"] == "resolve")
            && g.iter().any(|x| x.body["key"] == "failover/crm")
    });
    let over = got
        .iter()
        .find(|x| x.body["key"] == "failover/crm")
        .expect("failover");
    assert_eq!(over.body["event"], "approved_failover");
    node.wait_for_line("alert delivered sink=hook key=failover/crm");
}
