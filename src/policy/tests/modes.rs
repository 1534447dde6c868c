//! Modes, confirmation, maintenance, failback, hold-out, operator overrides and command errors.

use super::harness::*;
use crate::config::{ConfirmTimeout, Failback, Mode, Policy};
use crate::fixture;
use crate::model::{DecisionKind, ServiceId};
use crate::policy::{Command, CommandError, Event, PendingKind, TimeoutAction};
use std::time::Duration;

fn with(p: Policy) -> H {
    H::new(fixture::config(&[SVC], fixture::voters(3, 2), p))
}

fn confirm(on_timeout: ConfirmTimeout) -> H {
    let mut p = fixture::policy();
    p.mode = Mode::Confirm;
    p.confirm_timeout = Duration::from_secs(5);
    p.on_confirm_timeout = on_timeout;
    with(p)
}

fn svc() -> ServiceId {
    ServiceId::from(SVC)
}

#[test]
fn confirm_mode_proposes_pages_and_switches_on_approval() {
    let mut h = confirm(ConfirmTimeout::Abort);
    let out = h.run(1_000, 100, Down, Up);
    assert!(commits(&out).is_empty());
    let proposed: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.kind() == "switch_proposed")
        .collect();
    assert_eq!(proposed.len(), 1, "{out:?}");
    assert!(proposed[0].page());
    let st = &h.engine.status()[0];
    assert!(st.degraded);
    assert_eq!(
        st.pending.as_ref().map(|p| p.kind),
        Some(PendingKind::Failover)
    );
    let out = h.cmd(Command::Approve {
        service: svc(),
        by: "alice".into(),
    });
    let out = out.unwrap_or_default();
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert_eq!(c[0].decision.kind, DecisionKind::Confirmed);
    assert!(
        c[0].decision.reason.ends_with("approved by alice"),
        "{}",
        c[0].decision.reason
    );
    assert_eq!(h.active(), site("sh"));
}

#[test]
fn confirm_timeout_abort_pages_and_does_not_repropose() {
    let mut h = confirm(ConfirmTimeout::Abort);
    let out = h.run(20_000, 100, Down, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    let k = kinds(&out);
    assert_eq!(
        k.iter().filter(|k| **k == "switch_proposed").count(),
        1,
        "{k:?}"
    );
    let timed_out: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.kind() == "confirm_timed_out")
        .collect();
    assert_eq!(timed_out.len(), 1);
    assert!(matches!(
        timed_out[0],
        Event::ConfirmTimedOut {
            action: TimeoutAction::Aborted,
            ..
        }
    ));
    assert!(timed_out[0].page());
    // Recovery then a new outage: a new proposal.
    h.run(1_000, 100, Up, Up);
    let out = h.run(1_000, 100, Down, Up);
    assert_eq!(
        kinds(&out)
            .iter()
            .filter(|k| **k == "switch_proposed")
            .count(),
        1
    );
}

#[test]
fn confirm_timeout_proceed_switches_and_says_so() {
    let mut h = confirm(ConfirmTimeout::Proceed);
    let out = h.run(10_000, 100, Down, Up);
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert_eq!(c[0].decision.kind, DecisionKind::Confirmed);
    assert!(c[0].decision.reason.contains("proceeded"));
    assert!(kinds(&out).contains(&"confirm_timed_out"));
}

#[test]
fn a_proposal_is_withdrawn_when_the_primary_recovers() {
    let mut h = confirm(ConfirmTimeout::Proceed);
    h.run(1_000, 100, Down, Up);
    let out = h.run(10_000, 100, Up, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    assert!(kinds(&out).contains(&"proposal_withdrawn"));
    assert!(kinds(&out).contains(&"active_recovered"));
}

#[test]
fn reject_drops_the_proposal_for_this_episode() {
    let mut h = confirm(ConfirmTimeout::Proceed);
    h.run(1_000, 100, Down, Up);
    let out = h
        .cmd(Command::Reject {
            service: svc(),
            by: "bob".into(),
        })
        .unwrap_or_default();
    assert_eq!(kinds(&out), vec!["proposal_rejected"]);
    let out = h.run(20_000, 100, Down, Up);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        h.cmd(Command::Approve {
            service: svc(),
            by: "bob".into()
        }),
        Err(CommandError::NothingPending { service: svc() })
    );
}

#[test]
fn approve_refuses_a_target_that_went_down() {
    let mut h = confirm(ConfirmTimeout::Abort);
    h.run(1_000, 100, Down, Up);
    h.run(300, 100, Down, Down);
    let r = h.cmd(Command::Approve {
        service: svc(),
        by: "alice".into(),
    });
    assert!(matches!(r, Err(CommandError::TargetNotUp { .. })), "{r:?}");
    assert_eq!(h.active(), site("bj"));
}

#[test]
fn manual_mode_reports_but_only_operators_switch() {
    let mut p = fixture::policy();
    p.mode = Mode::Manual;
    let mut h = with(p);
    let out = h.run(2_000, 100, Down, Down);
    assert!(commits(&out).is_empty());
    assert_eq!(kinds(&out), vec!["primary_down"]);
    let r = h.cmd(Command::Switch {
        service: svc(),
        to: site("sh"),
        reason: "drill".into(),
        by: "ops".into(),
        force: false,
    });
    assert!(matches!(r, Err(CommandError::TargetNotUp { .. })), "{r:?}");
    let out = h
        .cmd(Command::Switch {
            service: svc(),
            to: site("sh"),
            reason: "db moved".into(),
            by: "ops".into(),
            force: true,
        })
        .unwrap_or_default();
    let c = commits(&out);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].decision.kind, DecisionKind::Operator);
    assert!(
        c[0].decision
            .reason
            .starts_with("operator ops: db moved; forced; sh down"),
        "{}",
        c[0].decision.reason
    );
}

#[test]
fn maintenance_freezes_and_persists_as_a_commit() {
    let mut h = with(fixture::policy());
    let out = h
        .cmd(Command::Maintenance {
            service: svc(),
            on: true,
            by: "ops".into(),
        })
        .unwrap_or_default();
    let c = commits(&out);
    assert_eq!(c.len(), 1);
    assert!(c[0].operator.maintenance);
    assert_eq!(c[0].decision.epoch.0, 2);
    assert_eq!(c[0].decision.active_site, site("bj"));
    let out = h.run(3_000, 100, Down, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    // Survives a restart.
    let mut h = H::resume(h.cfg.clone(), h.engine.committed(), h.now);
    assert!(h.engine.status()[0].maintenance);
    h.run(3_000, 100, Down, Up);
    assert_eq!(h.active(), site("bj"));
    let out = h
        .cmd(Command::Maintenance {
            service: svc(),
            on: false,
            by: "ops".into(),
        })
        .unwrap_or_default();
    // Unfrozen with bj long down by quorum: the failover follows at once.
    assert_eq!(kinds(&out)[..2], ["commit", "maintenance_changed"]);
    let c = commits(&out);
    assert_eq!(c.len(), 2, "{out:?}");
    assert_eq!(c[1].decision.kind, DecisionKind::Failover);
    assert_eq!(h.active(), site("sh"));
}

fn auto_failback(hold_out: bool) -> H {
    let mut p = fixture::policy();
    p.failback = Failback::Auto;
    p.failback_hold = Duration::from_secs(10);
    p.hold_out_recovered = hold_out;
    with(p)
}

#[test]
fn auto_failback_waits_failback_hold_and_ignores_a_flapping_primary() {
    let mut h = auto_failback(false);
    h.run(1_000, 100, Down, Up);
    assert_eq!(h.active(), site("sh"));
    // Flapping: up 5 s, down 0.2 s, for a minute: never a stable 10 s.
    for _ in 0..12 {
        h.run(5_000, 100, Up, Up);
        h.run(200, 100, Down, Up);
    }
    assert_eq!(h.active(), site("sh"));
    let out = h.run(9_000, 100, Up, Up);
    assert!(commits(&out).is_empty());
    let out = h.run(2_000, 100, Up, Up);
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert_eq!(c[0].decision.kind, DecisionKind::Failback);
    assert_eq!(c[0].decision.active_site, site("bj"));
    assert_eq!(commits(&h.log).len(), 3);
}

#[test]
fn hold_out_recovered_keeps_the_primary_out_until_readmitted() {
    let mut h = auto_failback(true);
    let out = h.run(1_000, 100, Down, Up);
    assert!(kinds(&out).contains(&"held_out"));
    h.run(30_000, 100, Up, Up);
    assert_eq!(h.active(), site("sh"));
    assert!(h.engine.status()[0].held_out.contains(&site("bj")));
    let out = h
        .cmd(Command::Readmit {
            service: svc(),
            site: site("bj"),
            by: "ops".into(),
        })
        .unwrap_or_default();
    // Re-admitted, and up long enough already: the failback follows at once.
    let c = commits(&out);
    assert_eq!(c.len(), 2, "{out:?}");
    assert_eq!(c[1].decision.kind, DecisionKind::Failback);
    assert_eq!(h.active(), site("bj"));
}

#[test]
fn manual_failback_says_when_the_primary_is_back() {
    let mut h = with(fixture::policy());
    h.run(1_000, 100, Down, Up);
    let out = h.run(700_000, 500, Up, Up);
    assert_eq!(kinds(&out), vec!["failback_available"]);
    assert_eq!(h.active(), site("sh"));
}

/// An auto-failback service that an operator moved to sh while bj was up.
fn operator_moved_to_sh() -> H {
    let mut h = auto_failback(false);
    h.run(500, 100, Up, Up);
    h.cmd(Command::Switch {
        service: svc(),
        to: site("sh"),
        reason: "bj work".into(),
        by: "ops".into(),
        force: false,
    })
    .unwrap_or_default();
    h
}

#[test]
fn an_operator_switch_persists_against_auto_failback() {
    let mut h = operator_moved_to_sh();
    let out = h.run(60_000, 100, Up, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    assert_eq!(h.active(), site("sh"));
}

#[test]
fn commands_name_what_is_wrong() {
    let mut h = with(fixture::policy());
    let bad = ServiceId::from("nope");
    assert_eq!(
        h.cmd(Command::Approve {
            service: bad.clone(),
            by: "x".into()
        }),
        Err(CommandError::UnknownService { service: bad })
    );
    assert_eq!(
        h.cmd(Command::Switch {
            service: svc(),
            to: site("gz"),
            reason: String::new(),
            by: "x".into(),
            force: true
        }),
        Err(CommandError::UnknownSite {
            service: svc(),
            site: site("gz")
        })
    );
    assert_eq!(
        h.cmd(Command::Switch {
            service: svc(),
            to: site("bj"),
            reason: String::new(),
            by: "x".into(),
            force: true
        }),
        Err(CommandError::AlreadyActive {
            service: svc(),
            site: site("bj")
        })
    );
    assert_eq!(
        h.cmd(Command::Reject {
            service: svc(),
            by: "x".into()
        }),
        Err(CommandError::NothingPending { service: svc() })
    );
    assert_eq!(h.epoch(), 1);
}

#[test]
fn a_lossy_primary_causes_at_most_one_switch() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut switched = 0;
    for seed in 0..3 {
        let mut h = auto_failback(false);
        let mut r = StdRng::seed_from_u64(seed);
        let voters = h.voters();
        // 10 minutes; each probe independently sees bj's app fail 30% of the time.
        for _ in 0..6_000 {
            for v in &voters {
                h.seq += 1;
                let bj = if r.random_bool(0.3) { Down } else { Up };
                let o = obs(v, h.seq, h.now, bj, Up).build();
                let _ = h.input(crate::policy::Input::Observation(o));
            }
            h.now += 100;
        }
        let switches: Vec<_> = commits(&h.log)
            .iter()
            .skip(1)
            .map(|c| (c.decision.kind, c.decision.active_site.clone()))
            .collect();
        assert!(switches.len() <= 1, "seed {seed}: {switches:?}");
        switched += switches.len();
    }
    assert!(
        switched > 0,
        "30% loss never tripped hold-down: the test would prove nothing"
    );
}

#[test]
fn an_operator_switch_persists_across_a_restart() {
    let h = operator_moved_to_sh();
    let mut h = H::resume(h.cfg.clone(), h.engine.committed(), h.now + 5);
    let out = h.run(60_000, 100, Up, Up);
    assert!(commits(&out).is_empty(), "{out:?}");
    assert_eq!(h.active(), site("sh"));
    assert_eq!(h.engine.status()[0].kind, DecisionKind::Operator);
}
