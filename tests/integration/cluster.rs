//! A cluster on a real three-member etcd: three switchback authorities (each also a probe, in
//! three failure domains) on loopback. Each scenario asserts what every authority answers
//! afterwards (dig at each one's DNS listener) and what each has committed.

use crate::cluster_support::{Cluster, dig, dig_times_out, get};
use crate::dns_support::require;
use crate::harness::TOKEN;
use std::sync::atomic::Ordering;

const CRM: &str = "crm.boss.example.";
const BJ: &str = "127.0.1.10";
const SH: &str = "127.0.2.10";

/// Every running authority answers `want` and reports crm at `epoch` on `site`.
pub(crate) fn all_answer(c: &mut Cluster, want: &str, site: &str, epoch: u64) {
    for a in c.auth.iter_mut().filter(|a| a.node.is_some()) {
        let dns = a.dns.expect("dns");
        assert_eq!(dig(dns, CRM), want, "{} answers", a.id);
        // The leader's status is what its decision loop published once the commit call
        // returned; its DNS follows the etcd watch, which can fire first: give it a moment.
        let mut status = a.node().status();
        for _ in 0..100 {
            if crate::harness::service(&status, "crm")["epoch"] == epoch {
                break;
            }
            status = a.node().status();
        }
        let crm = crate::harness::service(&status, "crm");
        assert_eq!(crm["active_site"], site, "{}: {status}", a.id);
        assert_eq!(crm["epoch"], epoch, "{}: {status}", a.id);
    }
}

/// Poll one authority's `/v1/status` until its `cluster.authorities` satisfy `ok` (the roster
/// follows enactment asynchronously); panics with the last answer after 30 s.
fn wait_roster(
    admin: std::net::SocketAddr,
    what: &str,
    ok: impl Fn(&[serde_json::Value]) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, body) = get(admin, "/v1/status");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if let Some(list) = status["cluster"]["authorities"].as_array()
            && ok(list)
        {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{admin}: {what}; status: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `authority`'s entry in a roster list.
fn member<'a>(list: &'a [serde_json::Value], authority: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|a| a["node"] == authority)
        .unwrap_or(&serde_json::Value::Null)
}

/// Every one of a1..a3 listed, present (not gone, not stale), crm applied at `epoch`.
fn all_three_at(list: &[serde_json::Value], epoch: u64) -> bool {
    list.len() == 3
        && ["a1", "a2", "a3"].iter().all(|n| {
            let m = member(list, n);
            m["gone"] == false && m["stale"] == false && m["epochs"]["crm"] == epoch
        })
}

#[test]
fn cluster_primary_app_dies_every_authority_switches_at_the_same_epoch() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    all_answer(&mut c, BJ, "bj", 1);
    let leader = c.leader();
    c.bj.up.store(false, Ordering::SeqCst);
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
    // Exactly one authority committed it; the others followed.
    let committers = c
        .auth
        .iter()
        .filter(|a| a.logged("decision committed service=crm active_site=sh"))
        .count();
    assert_eq!(committers, 1, "one commit of the switch");
    assert!(c.auth[leader].logged("active_site=sh epoch=2"));
    let status = c.auth[0].node().status();
    assert_eq!(status["cluster"]["stale"], false, "{status}");
    assert_eq!(status["cluster"]["leader"], c.auth[leader].id, "{status}");
    // Every authority's status lists all three, each at epoch 2, and the same leader.
    for i in 0..3 {
        let admin = c.auth[i].node().admin;
        let status = wait_roster(admin, "all three at epoch 2", |l| all_three_at(l, 2));
        let list = status["cluster"]["authorities"].as_array().unwrap();
        let leads: Vec<_> = list.iter().filter(|a| a["leader"] == true).collect();
        assert_eq!(leads.len(), 1, "{status}");
        assert_eq!(leads[0]["node"], c.auth[leader].id, "{status}");
    }
    // The dashboard's document carries the same roster.
    let (_, body) = get(c.auth[2].node().admin, "/v1/dashboard");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("dashboard JSON");
    let list = doc["cluster"]["authorities"]
        .as_array()
        .expect("authorities");
    assert!(all_three_at(list, 2), "{doc}");
    // The CLI's table: one row per authority, the leader marked.
    let out = c.auth[0].node().cli_ok(&["status"]);
    let rows: Vec<_> = out
        .lines()
        .skip_while(|l| !l.starts_with("AUTHORITY"))
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with(&format!("{} *", c.auth[leader].id))
                && r.contains("leader")
                && r.ends_with("crm=2")),
        "{out}"
    );
}

#[test]
fn cluster_leader_killed_mid_decision_new_leader_commits_once() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    // The primary fails and the leader dies inside the hold-down: nobody has committed yet.
    c.bj.up.store(false, Ordering::SeqCst);
    c.auth[leader].kill9();
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
    let next = c.leader();
    assert_ne!(next, leader);
    // Committed exactly once: epoch 2 everywhere, no epoch 3.
    for a in c.auth.iter().filter(|a| a.node.is_some()) {
        assert!(
            !a.logged("service=crm epoch=3"),
            "{} saw a second commit",
            a.id
        );
    }
    // The old leader comes back as a follower of what was committed meanwhile.
    c.auth[leader].start();
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
}

#[test]
fn cluster_operator_switch_sent_to_a_follower_is_committed_by_the_leader() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    let follower = (leader + 1) % 3;
    let out = c.auth[follower].node().cli_ok(&[
        "switch",
        "crm",
        "--to",
        "sh",
        "--reason",
        "drill via a follower",
        "--force",
        "--json",
    ]);
    let answer: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(answer["committed_by"], c.auth[leader].id, "{answer}");
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
    assert!(c.auth[follower].logged("command forwarded to the leader"));
}

#[test]
fn cluster_isolated_authority_reports_stale_withdraws_and_rejoins() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("withdraw") else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    // Cut off a follower (the leader's case is the kill test's: its lease runs out).
    let cut = (leader + 1) % 3;
    let admin = c.auth[cut].node().admin;
    wait_roster(admin, "all three at epoch 1", |l| all_three_at(l, 1));
    c.auth[cut].isolate();
    c.auth[cut]
        .node()
        .wait_for_each(["cut off from etcd", "dns answers withdrawn"]);
    let admin = c.auth[cut].node().admin;
    let (code, body) = get(admin, "/ready");
    assert_eq!(code, 503, "{body}");
    let status = c.auth[cut].node().status();
    assert_eq!(status["cluster"]["stale"], true, "{status}");
    let (_, metrics) = get(admin, "/metrics");
    assert!(metrics.contains("switchback_cluster_stale 1"), "{metrics}");
    assert!(
        dig_times_out(c.auth[cut].dns.expect("dns"), CRM),
        "withdrawn: no answer"
    );
    // The majority still decides: the primary fails, the two connected ones switch.
    c.bj.up.store(false, Ordering::SeqCst);
    let line = "enacted enactor=\"dns\" service=crm epoch=2";
    for i in (0..3).filter(|&i| i != cut) {
        c.auth[i].node().wait_for_line(line);
        assert_eq!(dig(c.auth[i].dns.expect("dns"), CRM), SH);
    }
    // The others show it gone (its record expired); it shows itself stale at epoch 1 and the
    // others as it last saw them.
    let cut_id = c.auth[cut].id.clone();
    for i in (0..3).filter(|&i| i != cut) {
        let admin = c.auth[i].node().admin;
        wait_roster(admin, "the cut-off authority gone", |l| {
            member(l, &cut_id)["gone"] == true
                && l.iter()
                    .filter(|a| a["node"] != cut_id.as_str())
                    .all(|a| a["gone"] == false && a["epochs"]["crm"] == 2)
        });
    }
    let status = c.auth[cut].node().status();
    let list = status["cluster"]["authorities"].as_array().unwrap();
    let me = member(list, &cut_id);
    assert_eq!(me["stale"], true, "{status}");
    assert_eq!(me["gone"], false, "{status}");
    assert_eq!(me["epochs"]["crm"], 1, "{status}");
    assert_eq!(list.len(), 3, "its last view of the others: {status}");
    let out = c.auth[cut].node().cli_ok(&["status"]);
    assert!(
        out.lines()
            .any(|r| r.starts_with(&cut_id) && r.contains(" stale ")),
        "{out}"
    );
    // Back: it reads the committed state, answers it, and is ready again.
    c.auth[cut].rejoin();
    c.auth[cut]
        .node()
        .wait_for_each(["etcd reachable again", "dns answers resumed", line]);
    assert_eq!(dig(c.auth[cut].dns.expect("dns"), CRM), SH);
    assert_eq!(get(admin, "/ready").0, 200);
    // And every authority lists all three again, at epoch 2.
    for i in 0..3 {
        let admin = c.auth[i].node().admin;
        wait_roster(admin, "all three back at epoch 2", |l| all_three_at(l, 2));
    }
}

#[test]
fn cluster_etcd_member_lost_changes_nothing() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    c.etcd.kill(0);
    c.bj.up.store(false, Ordering::SeqCst);
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
    for a in &c.auth {
        assert!(!a.logged("cut off from etcd"), "{} went stale", a.id);
    }
}

#[test]
fn cluster_forged_and_replayed_votes_are_dropped() {
    if require("dig").is_none() || require("etcdctl").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    // A client that can write to etcd puts a vote for a1 saying bj is down, badly signed.
    let key = format!("{}votes/a1", c.prefix);
    let text = c.etcd_get(&key);
    let mut vote: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    vote["observation"]["seq"] =
        serde_json::json!(vote["observation"]["seq"].as_u64().unwrap() + 1_000_000);
    vote["signature"] = serde_json::json!("00".repeat(32));
    c.etcd_put(&key, &vote.to_string());
    c.auth[leader]
        .node()
        .wait_for_line("vote dropped by the leader");
    let (_, metrics) = get(c.auth[leader].node().admin, "/metrics");
    assert!(
        metrics.contains("switchback_observations_dropped_total{reason=\"bad_signature\"}"),
        "{metrics}"
    );
    all_answer(&mut c, BJ, "bj", 1);
    let _ = TOKEN;
}

/// Random faults during failovers: each step fails the active site and at once kills the
/// leader (-9), kills an etcd member, cuts an authority off, or nothing; then heals. After
/// every step each authority holds the same decision for the same epoch, no authority's epoch
/// ever went backwards, and once healed every authority's status lists all three at it. `SWITCHBACK_CHAOS_STEPS` (default 3, about 20 s) sets the length
/// and `SWITCHBACK_CHAOS_SEED` replays a run.
///
/// Every step is an automatic switch, seconds apart: with the preset's flap damping (half-life
/// 15 min) the second one already suppresses automatic switching (status `flapping`), as
/// damping is meant to. So this cluster's crm sets a 1 s half-life (and failback hold): two
/// switches within about a second still suppress, for about a second, then the switch is made.
#[test]
fn cluster_chaos_no_split_brain_and_epochs_only_grow() {
    use rand::{Rng, SeedableRng};
    if require("dig").is_none() {
        return;
    }
    let steps: u64 = std::env::var("SWITCHBACK_CHAOS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("SWITCHBACK_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id().into());
    eprintln!("chaos: {steps} steps, SWITCHBACK_CHAOS_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = tokio::time::Instant::now();
    let Some(mut c) = Cluster::start_with_policy("keep", CHAOS_POLICY) else {
        return;
    };
    c.wait_enacted(1);
    let mut decided: std::collections::BTreeMap<u64, String> = [(1, "bj".to_owned())].into();
    let mut last_seen = [1u64; 3];
    let (mut active, mut epoch) = ("bj", 1u64);
    for step in 0..steps {
        let (target, standin_active, standin_target) = if active == "bj" {
            ("sh", &c.bj.up, &c.sh.up)
        } else {
            ("bj", &c.sh.up, &c.bj.up)
        };
        standin_target.store(true, Ordering::SeqCst);
        standin_active.store(false, Ordering::SeqCst);
        let fault = rng.random_range(0..4u8);
        let leader = c.leader();
        let member = rng.random_range(0..3usize);
        let cut = (leader + 1 + rng.random_range(0..2usize)) % 3;
        match fault {
            1 => c.auth[leader].kill9(),
            2 => c.etcd.kill(member),
            3 => c.auth[cut].isolate(),
            _ => {}
        }
        eprintln!(
            "chaos step {step}: {active} fails, fault {fault} (leader a{}, member {member}, cut a{})",
            leader + 1,
            cut + 1
        );
        epoch += 1;
        let line = format!("enacted enactor=\"dns\" service=crm epoch={epoch}");
        for i in 0..3 {
            if c.auth[i].node.is_some() && !(fault == 3 && i == cut) && !c.auth[i].logged(&line) {
                c.auth[i].node().wait_for_line_within(&line, STEP_LIMIT);
            }
        }
        match fault {
            1 => c.auth[leader].start(),
            2 => c.etcd.restart(member),
            3 => c.auth[cut].rejoin(),
            _ => {}
        }
        // A restarted authority answers the committed state it read before listening; the
        // others (the one cut off included) log the new epoch once they enact it.
        for i in (0..3).filter(|&i| !(fault == 1 && i == leader)) {
            if !c.auth[i].logged(&line) {
                c.auth[i].node().wait_for_line_within(&line, STEP_LIMIT);
            }
        }
        // The invariants, at every authority.
        for (i, a) in c.auth.iter_mut().enumerate() {
            let status = a.node().status();
            let crm = crate::harness::service(&status, "crm");
            let (e, site) = (
                crm["epoch"].as_u64().expect("epoch"),
                crm["active_site"].as_str().expect("site").to_owned(),
            );
            assert!(
                e >= last_seen[i],
                "a{}: epoch went back from {} to {e}",
                i + 1,
                last_seen[i]
            );
            last_seen[i] = e;
            let want = if site == "bj" { BJ } else { SH };
            assert_eq!(
                dig(a.dns.expect("dns"), CRM),
                want,
                "a{} answers its committed site",
                i + 1
            );
            let first = decided.entry(e).or_insert_with(|| site.clone());
            assert_eq!(
                *first,
                site,
                "split brain: epoch {e} is {first} at one authority, {site} at a{}",
                i + 1
            );
        }
        assert_eq!(
            decided.get(&epoch).map(String::as_str),
            Some(target),
            "step {step}: {decided:?}"
        );
        // Healed: every authority's status lists all three again, each at this epoch.
        for i in 0..3 {
            let admin = c.auth[i].node().admin;
            wait_roster(admin, &format!("step {step}: all three at {epoch}"), |l| {
                all_three_at(l, epoch)
            });
        }
        active = target;
    }
    let flaps = c
        .auth
        .iter()
        .filter(|a| a.logged("automatic switching suppressed"))
        .count();
    eprintln!(
        "chaos: {steps} steps in {:.1} s, no split brain, epochs only grew (seed {seed}, \
         {flaps} authorities logged a damping suppression)",
        started.elapsed().as_secs_f64()
    );
}

/// crm's policy for the chaos run: the scenarios' one with a 1 s flap-damping half-life.
const CHAOS_POLICY: &str = r#"{ mode = "auto", quorum = 2, min_domains = 2, hold_down = "300ms", failback_hold = "1s", damping_half_life = "1s" }"#;

/// The longest one step's switch may take at one authority (a lease TTL, a campaign, a
/// damping suppression); a chatty log does not extend it.
const STEP_LIMIT: std::time::Duration = std::time::Duration::from_secs(45);

/// The leader's `votes --json` entry of one probe node.
fn vote_at_leader(c: &mut Cluster, node: &str) -> serde_json::Value {
    let leader = c.leader();
    let out = c.auth[leader].node().cli_ok(&["votes", "--json"]);
    let votes: serde_json::Value = serde_json::from_str(&out).expect("votes JSON");
    votes["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["node"] == node))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// Poll the leader's view of `node`'s vote until `done` holds (each poll is one CLI call; the
/// probes publish every 100 ms). Panics after 30 s.
pub(crate) fn wait_for_vote(
    c: &mut Cluster,
    node: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let limit = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let v = vote_at_leader(c, node);
        if done(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < limit,
            "the leader never saw it: {v}"
        );
    }
}

/// A genuine vote captured from etcd and written back after a newer one (a replay), and a
/// correctly signed vote built long ago (stale): the leader drops both, counts each by
/// reason in /metrics and logs them; no authority's decision changes.
#[test]
fn cluster_replayed_and_stale_votes_are_dropped_and_counted() {
    use switchback::tally::{SignedObservation, Verifier};
    if require("dig").is_none() || require("etcdctl").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start("keep") else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    // Replay: a2's vote as it stands in etcd, written back once the leader has a newer one.
    let key = format!("{}votes/a2", c.prefix);
    // Under load the epoch can be enacted before a2's and a3's first votes are in etcd.
    for node in ["a2", "a3"] {
        wait_for_vote(&mut c, node, |v| v["seq"].as_u64().is_some());
    }
    let captured = c.etcd_get(&key);
    let old: SignedObservation =
        serde_json::from_str(&captured).unwrap_or_else(|e| panic!("{e}: {captured:?}"));
    let seq = old.observation.seq;
    wait_for_vote(&mut c, "a2", |v| v["seq"].as_u64().is_some_and(|s| s > seq));
    c.etcd_put(&key, &captured);
    // Stale: a3 "sees bj down", correctly signed, a fresh sequence number, built a minute ago.
    let key = format!("{}votes/a3", c.prefix);
    let text = c.etcd_get(&key);
    let mut obs = serde_json::from_str::<SignedObservation>(&text)
        .unwrap_or_else(|e| panic!("{e}: {text:?}"))
        .observation;
    obs.seq += 1_000_000;
    obs.at = switchback::model::Timestamp(obs.at.0.saturating_sub(60_000));
    for (_, view) in obs.sites.iter_mut().filter(|(s, _)| s.as_str() == "bj") {
        view.app = switchback::model::Health::Down;
    }
    let stale = Verifier::sign_with_id(crate::cluster_support::KEY.as_bytes(), 0, &obs);
    c.etcd_put(&key, &serde_json::to_string(&stale).expect("json"));
    c.auth[leader].node().wait_for_each([
        "vote dropped by the leader: observation from a2: seq",
        "vote dropped by the leader: observation from a3: stale",
    ]);
    let (_, metrics) = get(c.auth[leader].node().admin, "/metrics");
    for reason in ["replayed", "stale"] {
        let line = format!("switchback_observations_dropped_total{{reason=\"{reason}\"}} ");
        assert!(metrics.contains(&line), "{reason} not counted: {metrics}");
    }
    // a3's genuine votes still count (the stale one's sequence number was not taken).
    let at = vote_at_leader(&mut c, "a3")["seq"]
        .as_u64()
        .expect("a3 seq");
    wait_for_vote(&mut c, "a3", |v| {
        v["seq"].as_u64().is_some_and(|s| s > at) && v["state"] == "counting"
    });
    all_answer(&mut c, BJ, "bj", 1);
    for a in &c.auth {
        assert!(!a.logged("active_site=sh"), "{} switched", a.id);
    }
}

/// One probe (the leader's own, the hardest case) cut off from the primary site alone sees it
/// down for many hold-downs: nobody switches. When the primary really fails, all switch at
/// the same epoch.
#[test]
fn cluster_one_probe_partitioned_from_the_primary_switches_nothing() {
    if require("dig").is_none() {
        return;
    }
    let Some(mut c) = Cluster::start_with("keep", true) else {
        return;
    };
    c.wait_enacted(1);
    let leader = c.leader();
    let id = c.auth[leader].id.clone();
    c.auth[leader].cut_site("bj");
    let down = |v: &serde_json::Value| v["sites"]["bj"]["app"] == "down";
    let first = wait_for_vote(&mut c, &id, down);
    let since = first["at"].as_u64().expect("at");
    // Its down view stands for over three hold-downs (300 ms), by its own timestamps.
    let last = wait_for_vote(&mut c, &id, |v| {
        down(v) && v["at"].as_u64().is_some_and(|at| at >= since + 1_000)
    });
    assert_eq!(last["state"], "counting", "its vote counts: {last}");
    eprintln!(
        "partitioned probe {id} saw bj down from {since} to {}",
        last["at"]
    );
    let others: Vec<String> = c
        .auth
        .iter()
        .map(|a| a.id.clone())
        .filter(|a| *a != id)
        .collect();
    for other in others {
        let v = vote_at_leader(&mut c, &other);
        assert_eq!(v["sites"]["bj"]["app"], "up", "{other} sees bj: {v}");
    }
    all_answer(&mut c, BJ, "bj", 1);
    for a in &c.auth {
        assert!(!a.logged("active_site=sh"), "{} switched", a.id);
    }
    // The primary really fails: the other two see it too; everyone switches once.
    c.bj.up.store(false, Ordering::SeqCst);
    c.wait_enacted(2);
    all_answer(&mut c, SH, "sh", 2);
}
