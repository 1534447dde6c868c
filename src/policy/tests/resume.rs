//! A pending (confirm-mode) proposal resumed from the committed state: a restart or a new
//! leader keeps it as it was (no new hold-down, no new page) until the probes judge it.

use super::harness::*;
use crate::config::{ConfirmTimeout, Mode};
use crate::fixture;
use crate::model::{DecisionKind, ServiceId, Timestamp};
use crate::policy::{
    AuditEntry, AuditRecord, Command, Event, Input, Output, TimeoutAction, replay,
};
use std::time::Duration;

fn confirm(on_timeout: ConfirmTimeout, timeout: Duration) -> H {
    let mut p = fixture::policy();
    p.mode = Mode::Confirm;
    p.confirm_timeout = timeout;
    p.on_confirm_timeout = on_timeout;
    H::new(fixture::config(&[SVC], fixture::voters(3, 2), p))
}

/// A harness with a failover to sh proposed, then restarted `later` ms on from its committed state.
fn proposed_then_restarted(on_timeout: ConfirmTimeout, timeout: Duration, later: u64) -> (H, H) {
    let mut h = confirm(on_timeout, timeout);
    h.run(1_000, 100, Down, Up);
    assert!(h.engine.status()[0].pending.is_some(), "{:?}", h.log);
    let committed = h.engine.committed();
    assert!(committed[&ServiceId::from(SVC)].pending.is_some());
    let restarted = H::resume(h.cfg.clone(), committed, h.now + later);
    (h, restarted)
}

fn approve(h: &mut H) -> Vec<Output> {
    h.cmd(Command::Approve {
        service: SVC.into(),
        by: "alice".into(),
    })
    .expect("approve")
}

#[test]
fn a_resumed_proposal_keeps_its_time_and_reason_and_is_approved() {
    let (before, mut h) =
        proposed_then_restarted(ConfirmTimeout::Abort, Duration::from_secs(60), 500);
    let was = before.engine.status()[0].pending.clone();
    assert_eq!(h.engine.status()[0].pending, was, "resumed as it was");
    // One probe reports (no quorum yet: Unknown) — not withdrawn while the probes settle.
    let out = h.see(&[0], Down, Up);
    assert!(!kinds(&out).contains(&"proposal_withdrawn"), "{out:?}");
    // All report the active site down: no second proposal, no new hold-down.
    let out = h.run(2_000, 100, Down, Up);
    assert!(!kinds(&out).contains(&"switch_proposed"), "{out:?}");
    assert!(commits(&out).is_empty(), "{out:?}");
    assert_eq!(h.engine.status()[0].pending, was);
    let out = approve(&mut h);
    let c = commits(&out);
    assert_eq!(c.len(), 1, "{out:?}");
    assert_eq!(c[0].decision.kind, DecisionKind::Confirmed);
    assert_eq!(c[0].pending, None, "the switch's record holds no proposal");
    assert!(c[0].decision.reason.ends_with("approved by alice"));
    assert_eq!(h.active(), site("sh"));
}

#[test]
fn a_resumed_proposal_is_withdrawn_once_the_active_site_is_seen_up() {
    let (_, mut h) = proposed_then_restarted(ConfirmTimeout::Abort, Duration::from_secs(60), 500);
    let out = h.run(500, 100, Up, Up);
    assert_eq!(
        kinds(&out)
            .iter()
            .filter(|k| **k == "proposal_withdrawn")
            .count(),
        1,
        "{out:?}"
    );
    assert_eq!(h.engine.committed()[&ServiceId::from(SVC)].pending, None);
}

#[test]
fn a_resumed_proposal_nobody_judges_is_withdrawn_after_stale_after() {
    let (_, mut h) = proposed_then_restarted(ConfirmTimeout::Abort, Duration::from_secs(60), 500);
    // No probe reports: the engine asks for a tick when the settling time (stale_after) ends.
    let at = h.engine.next_deadline().expect("a deadline");
    assert_eq!(at, Timestamp(h.now + 1_000));
    h.now = at.0;
    let out = h.input(Input::Tick).expect("tick");
    assert!(kinds(&out).contains(&"proposal_withdrawn"), "{out:?}");
}

#[test]
fn a_resumed_proposal_past_its_deadline_times_out_once_judged() {
    let (_, mut h) =
        proposed_then_restarted(ConfirmTimeout::Proceed, Duration::from_secs(5), 10_000);
    let out = h.see(&[0], Down, Up);
    assert!(!kinds(&out).contains(&"confirm_timed_out"), "{out:?}");
    let out = h.see(&[1, 2], Down, Up);
    let timed_out: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.kind() == "confirm_timed_out")
        .collect();
    assert!(
        matches!(
            timed_out[..],
            [Event::ConfirmTimedOut {
                action: TimeoutAction::Proceeded,
                ..
            }]
        ),
        "{out:?}"
    );
    assert_eq!(h.active(), site("sh"));
}

#[test]
fn the_start_record_carries_the_proposal_so_replay_approves_it() {
    let (_, mut h) = proposed_then_restarted(ConfirmTimeout::Abort, Duration::from_secs(60), 500);
    let start = h.engine.start_record(Timestamp(h.now));
    let cmd = Command::Approve {
        service: SVC.into(),
        by: "alice".into(),
    };
    h.run(300, 100, Down, Up);
    let live = approve(&mut h);
    let mut lines = vec![start.to_line()];
    lines.extend(
        h.engine
            .tally()
            .voters()
            .filter_map(|(_, _, o)| o)
            .map(|o| AuditRecord::input(o.at, Input::Observation(o.clone())).to_line()),
    );
    lines.push(AuditRecord::input(Timestamp(h.now), Input::Command(cmd)).to_line());
    let replayed = replay(lines.join("\n").as_bytes(), &h.cfg).expect("replay");
    let kinds_of = |o: &[Output]| {
        commits(o)
            .iter()
            .map(|c| (c.decision.kind, c.decision.active_site.clone()))
            .collect::<Vec<_>>()
    };
    let replayed: Vec<_> = replayed
        .into_iter()
        .filter_map(|r| match r.entry {
            AuditEntry::Output(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(kinds_of(&replayed), kinds_of(&live));
    assert_eq!(
        h.engine.committed()[&ServiceId::from(SVC)].pending,
        None,
        "approved: nothing pending"
    );
}
