//! The audit log replays to the same outputs, while heartbeats that change nothing are thinned.

use super::harness::*;
use crate::fixture;
use crate::model::ServiceId;
use crate::model::{Health, Timestamp};
use crate::policy::{AuditEntry, AuditRecord, Command, Input, replay};
use std::io::Cursor;

/// Drive an engine, writing the audit log the way the node does, restarting the engine after the
/// phase `restart_after` (if any); return (log lines, inputs, outputs).
fn drive(
    schedule: &[(u64, Health, Health)],
    restart_after: Option<usize>,
) -> (Vec<AuditRecord>, usize, Vec<AuditRecord>) {
    let cfg = fixture::config(&[SVC], fixture::voters(3, 2), fixture::policy());
    let mut h = H::new(cfg);
    let mut log = vec![h.engine.start_record(Timestamp(h.now))];
    let mut outputs: Vec<AuditRecord> = h
        .log
        .iter()
        .cloned()
        .map(|o| AuditRecord::output(Timestamp(h.now), o))
        .collect();
    let mut inputs = 0;
    let voters = h.voters();
    let feed =
        |h: &mut H, input: Input, log: &mut Vec<AuditRecord>, outputs: &mut Vec<AuditRecord>| {
            let now = Timestamp(h.now);
            if let Ok(out) = h.engine.handle(input.clone(), now) {
                log.extend(h.engine.audit(&input, now, &out));
                outputs.extend(out.into_iter().map(|o| AuditRecord::output(now, o)));
            }
        };
    for (phase, &(ms, bj, sh)) in schedule.iter().enumerate() {
        let end = h.now + ms;
        while h.now < end {
            for v in &voters {
                h.seq += 1;
                let o = obs(v, h.seq, h.now, bj, sh).build();
                inputs += 1;
                feed(&mut h, Input::Observation(o), &mut log, &mut outputs);
            }
            let next = h.now + 100;
            while let Some(d) = h.engine.next_deadline().filter(|d| d.0 < next) {
                h.now = d.0;
                inputs += 1;
                feed(&mut h, Input::Tick, &mut log, &mut outputs);
            }
            h.now = next;
        }
        if restart_after == Some(phase) {
            let committed = h.engine.committed();
            let (engine, out) = crate::policy::Engine::new(&h.cfg, committed, Timestamp(h.now));
            assert!(out.is_empty(), "a restart commits nothing: {out:?}");
            h.engine = engine;
            log.push(h.engine.start_record(Timestamp(h.now)));
        }
    }
    inputs += 1;
    feed(
        &mut h,
        Input::Command(Command::Maintenance {
            service: ServiceId::from(SVC),
            on: true,
            by: "ops".into(),
        }),
        &mut log,
        &mut outputs,
    );
    (log, inputs, outputs)
}

#[test]
fn the_audit_log_replays_to_the_same_outputs() {
    let (log, inputs, outputs) = drive(
        &[
            (5_000, Up, Up),
            (1_000, Down, Up),
            (20_000, Down, Up),
            (3_000, Up, Up),
        ],
        None,
    );
    let text: String = log.iter().map(|r| r.to_line() + "\n").collect();
    let replayed = replay(
        Cursor::new(text.as_bytes()),
        &fixture::config(&[SVC], fixture::voters(3, 2), fixture::policy()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replayed, outputs);
    let logged_inputs = log
        .iter()
        .filter(|r| matches!(r.entry, AuditEntry::Input(_)))
        .count();
    assert!(
        logged_inputs * 3 < inputs,
        "heartbeats not thinned: {logged_inputs} of {inputs}"
    );
    assert!(outputs.iter().any(|r| matches!(&r.entry, AuditEntry::Output(crate::policy::Output::Commit(c)) if c.decision.epoch.0 == 2)));
}

#[test]
fn a_log_with_a_restart_replays_to_the_same_outputs() {
    // Restart in the middle of an outage (hold-down starts again) and again after the switch.
    for restart_after in [1, 2] {
        let (log, _, outputs) = drive(
            &[
                (2_000, Up, Up),
                (200, Down, Up),
                (2_000, Down, Up),
                (2_000, Up, Up),
            ],
            Some(restart_after),
        );
        let starts = log
            .iter()
            .filter(|r| matches!(r.entry, AuditEntry::Start(_)))
            .count();
        assert_eq!(starts, 2);
        let text: String = log.iter().map(|r| r.to_line() + "\n").collect();
        let cfg = fixture::config(&[SVC], fixture::voters(3, 2), fixture::policy());
        let replayed = replay(Cursor::new(text.as_bytes()), &cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replayed, outputs, "restart after phase {restart_after}");
        assert!(outputs.iter().any(|r| matches!(&r.entry, AuditEntry::Output(crate::policy::Output::Commit(c)) if c.decision.epoch.0 == 2)));
    }
}

#[test]
fn a_bad_line_is_named() {
    let cfg = fixture::config(&[SVC], fixture::voters(3, 2), fixture::policy());
    let text = "{\"at\":1,\"input\":\"tick\"}\n\nnot json\n";
    let err = replay(Cursor::new(text.as_bytes()), &cfg)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("line 3: not an audit record"), "{err}");
}
