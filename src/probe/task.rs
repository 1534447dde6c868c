//! One check's task: wait (random offset, period with jitter, or a link event), attempt,
//! weigh it by its evidence ([`Detector`]), and report to the aggregator over a bounded channel.

use super::evidence::{Detector, DetectorSpec, Evidence};
use super::kinds::{Outcome, Probe};
use super::machine::Transition;
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
    /// Up with more of the window failed than `up_ratio`.
    pub(crate) degraded: bool,
    /// `silence` timeouts in a row.
    pub(crate) silent: bool,
    /// What made the check down, when it is.
    pub(crate) down_by: Option<Evidence>,
}

/// The detector knobs of a check's timing.
pub(crate) fn detector_spec(t: &super::defs::Timing) -> DetectorSpec {
    DetectorSpec {
        rise: t.rise,
        fall: t.fall,
        window: t.loss_window,
        down_ratio: t.down_ratio,
        up_ratio: t.up_ratio,
        silence: t.silence,
    }
}

/// One check's loop: wait (offset, period, jitter, or a link event), attempt, rise/fall, report.
pub(crate) async fn check_task(
    index: usize,
    mut probe: Probe,
    tx: mpsc::Sender<Report>,
    stop: CancellationToken,
) {
    let timing = probe.def().timing.clone();
    let mut machine = Detector::new(detector_spec(&timing));
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
        let transition = machine.record(outcome.ok, outcome.evidence);
        next = start + schedule::period(&timing, machine.pending(), rand::random());
        let report = Report {
            index,
            outcome,
            state: machine.state(),
            transition,
            streak: machine.streak(),
            degraded: machine.degraded(),
            silent: machine.silent(),
            down_by: machine.down_by(),
        };
        if tx.send(report).await.is_err() {
            return;
        }
    }
}
