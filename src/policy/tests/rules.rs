//! Failover rules: hold-down, quorum, domains, layers, target up, gates, abstention, restart.

use super::harness::*;
use crate::config::Voter;
use crate::fixture;
use crate::model::{CheckName, DecisionKind, Epoch, Health};
use crate::policy::{Command, Event, Input, Output};
use std::time::Duration;

fn h() -> H {
    H::new(fixture::config(
        &[SVC],
        fixture::voters(3, 2),
        fixture::policy(),
    ))
}

#[test]
fn first_start_commits_the_primary_at_epoch_one() {
    let h = h();
    let c = commits(&h.log);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].decision.active_site, site("bj"));
    assert_eq!(c[0].decision.epoch, Epoch(1));
    assert_eq!(c[0].decision.kind, DecisionKind::Initial);
}

#[test]
fn fails_over_only_after_hold_down() {
    let mut h = h();
    h.run(500, 100, Up, Up);
    let out = h.run(200, 100, Down, Up);
    assert!(
        commits(&out).is_empty(),
        "switched before hold_down: {out:?}"
    );
    let out = h.run(200, 100, Down, Up);
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert_eq!(c[0].decision.active_site, site("sh"));
    assert_eq!(c[0].decision.kind, DecisionKind::Failover);
    assert_eq!(c[0].decision.epoch, Epoch(2));
    let reason = &c[0].decision.reason;
    assert!(
        reason.contains("bj down by the app's own checks: app down 3/3, host up 3/3, link up 3/3"),
        "{reason}"
    );
    assert!(reason.contains("in 2 domains"), "{reason}");
    assert!(reason.contains("sh up: app up 3/3"), "{reason}");
    assert!(kinds(&out).contains(&"primary_down"));
    assert!(kinds(&out).contains(&"switched"));
}

#[test]
fn the_tick_at_the_deadline_switches_without_new_observations() {
    let mut h = h();
    h.see(&[0, 1, 2], Down, Up);
    let d = h.engine.next_deadline().map(|t| t.0);
    assert_eq!(d, Some(h.now + 300));
    h.now += 300;
    let out = h.input(Input::Tick).unwrap_or_default();
    assert_eq!(commits(&out).len(), 1, "{out:?}");
}

#[test]
fn an_outage_shorter_than_hold_down_does_not_switch() {
    let mut h = h();
    for _ in 0..20 {
        h.run(200, 100, Down, Up);
        h.run(100, 100, Up, Up);
    }
    assert_eq!(h.active(), site("bj"));
    assert_eq!(h.epoch(), 1);
}

#[test]
fn one_partitioned_probe_cannot_switch() {
    let mut h = h();
    for _ in 0..20 {
        h.see(&[0], Down, Up);
        h.see(&[1, 2], Up, Up);
        h.run(100, 100, Unknown, Unknown);
    }
    h.run_some(&[0], 2_000, 100, Down, Up);
    assert_eq!(h.active(), site("bj"));
}

#[test]
fn a_quorum_from_one_domain_is_not_enough() {
    let voters: Vec<Voter> = fixture::voters(3, 1);
    let mut h = H::new(fixture::config(&[SVC], voters, fixture::policy()));
    h.run(3_000, 100, Down, Up);
    assert_eq!(h.active(), site("bj"));
}

#[test]
fn never_switches_to_a_site_not_seen_up() {
    let mut h = h();
    let out = h.run(3_000, 100, Down, Down);
    assert_eq!(h.active(), site("bj"));
    let refused = kinds(&out)
        .iter()
        .filter(|k| **k == "switch_refused_target_down")
        .count();
    assert_eq!(
        refused, 1,
        "refusal must be reported once per episode: {out:?}"
    );
    let out = h.run(3_000, 100, Down, Unknown);
    assert_eq!(h.active(), site("bj"), "{out:?}");
    let st = &h.engine.status()[0];
    assert!(st.degraded);
}

#[test]
fn all_down_is_exposed_and_unknown_is_not_down() {
    let mut h = h();
    assert!(!h.engine.status()[0].all_down);
    h.run(500, 100, Down, Down);
    assert!(h.engine.status()[0].all_down);
}

#[test]
fn gates_block_until_up_by_quorum() {
    let mut p = fixture::policy();
    let gate = CheckName::from("replication-lag");
    p.gates = vec![gate.clone()];
    let mut h = H::new(fixture::config(&[SVC], fixture::voters(3, 2), p));
    let out = h.run(1_000, 100, Down, Up);
    assert_eq!(h.active(), site("bj"));
    let blocked: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.kind() == "gate_blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "{out:?}");
    // Now the gate passes at sh on every probe.
    let voters = h.voters();
    let mut out = Vec::new();
    for v in &voters {
        h.seq += 1;
        let o = obs(v, h.seq, h.now, Down, Up)
            .gate("sh", gate.as_str(), Health::Up)
            .build();
        out.extend(h.input(Input::Observation(o)).unwrap_or_default());
    }
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert!(
        c[0].decision
            .reason
            .contains("gates at sh: replication-lag up 2/3"),
        "{}",
        c[0].decision.reason
    );
}

#[test]
fn abstaining_probes_do_not_count() {
    let mut h = h();
    let voters = h.voters();
    let mut out = Vec::new();
    for _ in 0..30 {
        for (i, v) in voters.iter().enumerate() {
            h.seq += 1;
            let o = obs(v, h.seq, h.now, Down, Up);
            let o = if i == 0 {
                o.build()
            } else {
                o.abstain("uplink gateway unreachable").build()
            };
            out.extend(h.input(Input::Observation(o)).unwrap_or_default());
        }
        h.now += 100;
    }
    assert_eq!(h.active(), site("bj"));
    let abst = kinds(&out).iter().filter(|k| **k == "abstaining").count();
    assert_eq!(abst, 2, "one event per abstaining probe: {out:?}");
    assert!(kinds(&out).contains(&"quorum_lost"));
}

#[test]
fn silent_probes_go_stale_and_quorum_is_lost() {
    let mut h = h();
    h.run(500, 100, Up, Up);
    let out = h.run_some(&[0], 2_000, 100, Up, Up);
    let lost: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.kind() == "quorum_lost")
        .collect();
    assert_eq!(lost.len(), 1, "{out:?}");
    assert!(!h.engine.status()[0].quorum);
    let out = h.run(300, 100, Up, Up);
    assert!(kinds(&out).contains(&"quorum_restored"));
}

#[test]
fn host_down_counts_when_app_is_unknown_but_not_against_a_working_app() {
    let mut h = h();
    let voters = h.voters();
    let send = |h: &mut H, app: Health| {
        let mut out = Vec::new();
        for v in &voters {
            h.seq += 1;
            let o = obs(v, h.seq, h.now, app, Up)
                .site("bj", fixture::view(Unknown, Down, Up))
                .build();
            out.extend(h.input(Input::Observation(o)).unwrap_or_default());
        }
        out
    };
    for _ in 0..10 {
        send(&mut h, Up);
        h.now += 100;
    }
    assert_eq!(
        h.active(),
        site("bj"),
        "ICMP down but app up must not switch"
    );
    let mut out = Vec::new();
    for _ in 0..5 {
        out.extend(send(&mut h, Unknown));
        h.now += 100;
    }
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert!(
        c[0].decision.reason.contains("app unknown, host down 3/3"),
        "{}",
        c[0].decision.reason
    );
}

#[test]
fn a_restart_resumes_the_committed_decision() {
    let mut h = h();
    h.run(1_000, 100, Down, Up);
    assert_eq!(h.active(), site("sh"));
    let committed = h.engine.committed();
    let mut h2 = H::resume(h.cfg.clone(), committed, h.now + 10);
    assert!(h2.log.is_empty(), "restart must not commit: {:?}", h2.log);
    assert_eq!(h2.active(), site("sh"));
    assert_eq!(h2.epoch(), 2);
    // Primary up again right after restart: manual failback, so it stays.
    let out = h2.run(5_000, 100, Up, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
}

#[test]
fn epochs_only_grow_and_outputs_serialise() {
    let mut p = fixture::policy();
    p.failback = crate::config::Failback::Auto;
    p.failback_hold = Duration::from_millis(2_000);
    p.damping.suppress = u32::MAX; // this test wants many switches; damping has its own
    let mut h = H::new(fixture::config(&[SVC], fixture::voters(3, 2), p));
    for _ in 0..4 {
        h.run(1_000, 100, Down, Up);
        h.run(3_000, 100, Up, Up);
    }
    let epochs: Vec<u64> = commits(&h.log).iter().map(|c| c.decision.epoch.0).collect();
    assert!(epochs.len() >= 5, "{epochs:?}");
    assert!(epochs.windows(2).all(|w| w[1] == w[0] + 1), "{epochs:?}");
    for o in &h.log {
        let line = serde_json::to_string(o).unwrap_or_default();
        let back: Output = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(&back, o);
    }
}

#[test]
fn flap_damping_stops_automatic_switches_but_not_operators() {
    let mut p = fixture::policy();
    p.failback = crate::config::Failback::Auto;
    p.failback_hold = Duration::from_millis(2_000);
    p.damping.half_life = Duration::from_secs(60);
    let mut h = H::new(fixture::config(&[SVC], fixture::voters(3, 2), p));
    h.run(1_000, 100, Down, Up);
    assert_eq!(h.active(), site("sh"), "failover");
    let out = h.run(3_000, 100, Up, Up);
    assert_eq!(h.active(), site("bj"), "failback");
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::Flapping { .. })),
        "{out:?}"
    );
    let st = &h.engine.status()[0];
    assert!(st.flapping && st.degraded, "{st:?}");
    // The primary fails again: no automatic failover while suppressed.
    let out = h.run(5_000, 100, Down, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    assert_eq!(h.active(), site("bj"));
    // An operator can still switch.
    h.cmd(Command::Switch {
        service: SVC.into(),
        to: site("sh"),
        reason: "drill".into(),
        by: "op".into(),
        force: false,
    })
    .expect("operator switch");
    assert_eq!(h.active(), site("sh"));
    // Two half-lives later the penalty is below reuse: automatic switching resumes.
    let out = h.run(120_000, 1_000, Up, Up);
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::FlappingEnded { .. })),
        "{out:?}"
    );
    assert!(!h.engine.status()[0].flapping);
}

#[test]
fn a_cut_path_or_silence_on_app_and_host_outvotes_a_stale_app_up() {
    for (cut, silent, words) in [
        (true, false, "by definitive link failure"),
        (false, true, "by app and host silent together"),
    ] {
        let mut h = h();
        let voters = h.voters();
        let mut out = Vec::new();
        for _ in 0..5 {
            for v in &voters {
                h.seq += 1;
                let mut view = fixture::view(Up, Up, Up);
                view.cut = cut;
                view.silent = silent;
                // The app's own verdict still says up: its checks have not caught up yet.
                let o = obs(v, h.seq, h.now, Up, Up).site("bj", view).build();
                out.extend(h.input(Input::Observation(o)).unwrap_or_default());
            }
            h.now += 100;
        }
        let c = commits(&out);
        assert_eq!(c.len(), 1, "{out:?}");
        assert_eq!(c[0].decision.active_site, site("sh"));
        assert!(
            c[0].decision.reason.contains(words),
            "{}",
            c[0].decision.reason
        );
    }
}
