//! One check's task: wait (random offset, period with jitter, or a link event), attempt,
//! feed rise/fall, and report to the aggregator over a bounded channel.

use super::kinds::{Outcome, Probe};
use super::machine::{RiseFall, Transition};
use super::schedule;
use crate::model::Health;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One attempt's result as sent to the aggregator.
pub(crate) struct Report {
    pub(crate) index: usize,
    pub(crate) outcome: Outcome,
    pub(crate) state: Health,
    pub(crate) transition: Option<Transition>,
    pub(crate) streak: u32,
}

/// One check's loop: wait (offset, period, jitter, or a link event), attempt, rise/fall, report.
pub(crate) async fn check_task(
    index: usize,
    mut probe: Probe,
    tx: mpsc::Sender<Report>,
    stop: CancellationToken,
) {
    let timing = probe.def().timing.clone();
    let mut machine = RiseFall::new(timing.rise, timing.fall);
    // Event-driven checks know their state from the first dump: run them at once. Polled
    // checks start at a random offset within one interval so they do not fire together.
    let offset = if probe.event_driven() {
        Duration::ZERO
    } else {
        schedule::first_delay(&timing, rand::random())
    };
    let mut next = Instant::now() + offset;
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
            _ = probe.changed() => {}
        }
        let start = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            o = probe.run() => o,
        };
        // Local trouble abstains: rise/fall only hears about the target.
        let transition = if outcome.local {
            None
        } else {
            machine.record(outcome.ok)
        };
        let (oks, fails) = machine.runs();
        next = start + schedule::period(&timing, machine.pending(), rand::random());
        let report = Report {
            index,
            outcome,
            state: machine.state(),
            transition,
            streak: oks.max(fails),
        };
        if tx.send(report).await.is_err() {
            return;
        }
    }
}
