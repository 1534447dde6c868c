//! How strong a failed result is, and the state machine that weighs results by it. Pure.
//!
//! - **Definitive** failures are the target itself saying no: connection refused or reset,
//!   an HTTP status or body that is wrong, a DNS server answering SERVFAIL/REFUSED, carrier
//!   down on the probe's own path. `fall` of them in a row make the check down.
//! - **Ambiguous** failures are silence: a timeout, no reply. Loss produces them too, so
//!   they go through a sliding window with hysteresis: down only when at least `down_ratio`
//!   of a full `window` failed, up again only when the share of timeouts in it is at most
//!   `up_ratio` (a target that refused and now answers rises after `rise` passes; one that
//!   was silent must show a mostly clean window). An up check with more timeouts than that
//!   shows as *degraded*, not down.
//! - **Local** failures are the prober's own trouble (no socket, no client): they say
//!   nothing about the target and leave the state alone (the probe abstains instead).
//!
//! A check counts as *silent* after `silence` ambiguous failures in a row; a site whose app
//! and host checks are all silent is black-holed (corroboration in `probe::summary`).

use super::machine::Transition;
use crate::model::Health;
use serde::Serialize;
use std::collections::VecDeque;

/// The strength of one result's evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The target answered (or its own path reported): a pass, or a failure to trust at once.
    Definitive,
    /// No answer: the target or the path in between may be at fault, or a packet was lost.
    Ambiguous,
    /// The prober's own trouble: says nothing about the target.
    Local,
}

/// The knobs of a [`Detector`] (a check's `rise`, `fall`, `window`, ratios, `silence`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorSpec {
    /// Consecutive passes to become up.
    pub rise: u32,
    /// Consecutive definitive failures to become down.
    pub fall: u32,
    /// Results in the sliding window.
    pub window: u32,
    /// Failed share of a full window that makes the check down.
    pub down_ratio: f64,
    /// Failed share at or below which a down check may rise; above it an up check is degraded.
    pub up_ratio: f64,
    /// Consecutive ambiguous failures that make the check silent.
    pub silence: u32,
}

/// One result as the window keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Pass,
    Refused,
    Timeout,
}

/// Evidence-weighted rise/fall of one check.
#[derive(Clone, Debug)]
pub struct Detector {
    spec: DetectorSpec,
    state: Health,
    ok_run: u32,
    definitive_run: u32,
    silent_run: u32,
    /// Each result in the window (newest at the back).
    recent: VecDeque<Slot>,
    failed: u32,
    timeouts: u32,
    down_by: Option<Evidence>,
}

impl Detector {
    /// A detector in `Unknown`; counts below 1 are treated as 1.
    pub fn new(spec: DetectorSpec) -> Self {
        let spec = DetectorSpec {
            rise: spec.rise.max(1),
            fall: spec.fall.max(1),
            window: spec.window.max(1),
            silence: spec.silence.max(1),
            ..spec
        };
        Detector {
            spec,
            state: Health::Unknown,
            ok_run: 0,
            definitive_run: 0,
            silent_run: 0,
            recent: VecDeque::with_capacity(spec.window as usize),
            failed: 0,
            timeouts: 0,
            down_by: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> Health {
        self.state
    }

    /// The failed share of the window (0 when empty).
    pub fn fail_ratio(&self) -> f64 {
        if self.recent.is_empty() {
            0.0
        } else {
            f64::from(self.failed) / self.recent.len() as f64
        }
    }

    /// The share of the window that timed out (0 when empty).
    pub fn timeout_ratio(&self) -> f64 {
        if self.recent.is_empty() {
            0.0
        } else {
            f64::from(self.timeouts) / self.recent.len() as f64
        }
    }

    /// Up, but more of the window timed out than `up_ratio`: loss, not an outage.
    pub fn degraded(&self) -> bool {
        self.state == Health::Up && self.timeout_ratio() > self.spec.up_ratio
    }

    /// At least `silence` ambiguous failures in a row.
    pub fn silent(&self) -> bool {
        self.silent_run >= self.spec.silence
    }

    /// What made the check down: definitive failures or a window of silence.
    pub fn down_by(&self) -> Option<Evidence> {
        (self.state == Health::Down)
            .then_some(self.down_by)
            .flatten()
    }

    /// The longest current run (passes, definitive or ambiguous failures), for status.
    pub fn streak(&self) -> u32 {
        self.ok_run.max(self.definitive_run).max(self.silent_run)
    }

    /// Whether a change is in progress, so the next run should come quickly.
    pub fn pending(&self) -> bool {
        match self.state {
            Health::Unknown => true,
            Health::Up => self.definitive_run > 0 || self.silent_run > 0,
            Health::Down => self.ok_run > 0,
        }
    }

    fn push(&mut self, slot: Slot) {
        if self.recent.len() == self.spec.window as usize
            && let Some(old) = self.recent.pop_front()
        {
            self.failed -= u32::from(old != Slot::Pass);
            self.timeouts -= u32::from(old == Slot::Timeout);
        }
        self.recent.push_back(slot);
        self.failed += u32::from(slot != Slot::Pass);
        self.timeouts += u32::from(slot == Slot::Timeout);
    }

    /// Feeds one result (`ok`, and the evidence of a failure); returns the transition caused.
    pub fn record(&mut self, ok: bool, evidence: Evidence) -> Option<Transition> {
        if ok {
            self.ok_run = self.ok_run.saturating_add(1);
            self.definitive_run = 0;
            self.silent_run = 0;
            self.push(Slot::Pass);
        } else {
            let slot = match evidence {
                Evidence::Local => return None,
                Evidence::Definitive => {
                    self.definitive_run = self.definitive_run.saturating_add(1);
                    self.silent_run = 0;
                    Slot::Refused
                }
                Evidence::Ambiguous => {
                    self.silent_run = self.silent_run.saturating_add(1);
                    Slot::Timeout
                }
            };
            self.ok_run = 0;
            self.push(slot);
        }
        let full = self.recent.len() >= self.spec.window as usize;
        let (next, by) = if self.definitive_run >= self.spec.fall {
            (Health::Down, Some(Evidence::Definitive))
        } else if full && self.fail_ratio() >= self.spec.down_ratio {
            (Health::Down, Some(Evidence::Ambiguous))
        } else if self.ok_run >= self.spec.rise
            && (self.state == Health::Unknown || self.timeout_ratio() <= self.spec.up_ratio)
        {
            (Health::Up, None)
        } else {
            (self.state, self.down_by)
        };
        if next == Health::Down && self.state != Health::Down {
            self.down_by = by;
        }
        (next != self.state).then(|| {
            let t = Transition {
                from: self.state,
                to: next,
            };
            self.state = next;
            t
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Evidence::*;
    use Health::*;

    fn spec() -> DetectorSpec {
        DetectorSpec {
            rise: 2,
            fall: 2,
            window: 10,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 4,
        }
    }

    fn up() -> Detector {
        let mut d = Detector::new(spec());
        for _ in 0..10 {
            d.record(true, Definitive);
        }
        assert_eq!(d.state(), Up);
        d
    }

    #[test]
    fn two_definitive_failures_go_down_one_does_not() {
        let mut d = up();
        assert_eq!(d.record(false, Definitive), None);
        assert!(d.pending());
        let t = d.record(false, Definitive).unwrap();
        assert_eq!((t.from, t.to), (Up, Down));
        assert_eq!(d.down_by(), Some(Definitive));
    }

    #[test]
    fn loss_degrades_but_does_not_go_down() {
        let mut d = up();
        // 70 % of results lost, forever: never a full window of failures.
        for i in 0..1000 {
            d.record(i % 10 < 3, Ambiguous);
            assert_ne!(d.state(), Down, "at {i}");
        }
        assert!(d.degraded());
    }

    #[test]
    fn silence_goes_down_after_a_full_window_and_is_silent_before() {
        let mut d = up();
        for i in 0..9 {
            assert_eq!(d.record(false, Ambiguous), None, "at {i}");
        }
        assert!(d.silent());
        assert_eq!(d.record(false, Ambiguous).map(|t| t.to), Some(Down));
        assert_eq!(d.down_by(), Some(Ambiguous));
    }

    #[test]
    fn rising_again_needs_the_window_mostly_clean() {
        let mut d = up();
        for _ in 0..10 {
            d.record(false, Ambiguous);
        }
        assert_eq!(d.state(), Down);
        // Passes push failures out; up only once at most 20 % of the window failed.
        let mut rose_at = None;
        for i in 0..10 {
            if d.record(true, Definitive).is_some() {
                rose_at = Some(i + 1);
                break;
            }
        }
        assert_eq!(rose_at, Some(8));
    }

    #[test]
    fn after_refusals_rise_passes_are_enough() {
        let mut d = up();
        for _ in 0..10 {
            d.record(false, Definitive);
        }
        assert_eq!(d.state(), Down);
        d.record(true, Definitive);
        assert_eq!(d.record(true, Definitive).map(|t| t.to), Some(Up));
    }

    #[test]
    fn local_trouble_changes_nothing() {
        let mut d = up();
        d.record(false, Definitive);
        for _ in 0..100 {
            assert_eq!(d.record(false, Local), None);
        }
        assert_eq!(d.state(), Up);
        assert_eq!(d.record(false, Definitive).map(|t| t.to), Some(Down));
    }

    #[test]
    fn an_ambiguous_failure_between_definitive_ones_does_not_reset_them() {
        let mut d = up();
        d.record(false, Definitive);
        d.record(false, Ambiguous);
        assert_eq!(d.record(false, Definitive).map(|t| t.to), Some(Down));
    }

    #[test]
    fn unknown_rises_on_rise_passes() {
        let mut d = Detector::new(spec());
        d.record(false, Ambiguous);
        d.record(true, Definitive);
        assert_eq!(d.record(true, Definitive).map(|t| t.to), Some(Up));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ambiguous failures alone never take a check down while any of the last `window`
        /// results passed (with `down_ratio` 1), and one failure of any kind never does.
        #[test]
        fn loss_needs_a_full_window_of_silence(
            results in proptest::collection::vec(any::<bool>(), 0..400),
        ) {
            let s = DetectorSpec { rise: 2, fall: 2, window: 8, down_ratio: 1.0, up_ratio: 0.2, silence: 4 };
            let mut d = Detector::new(s);
            let mut tail = 0u32;
            for ok in results {
                tail = if ok { 0 } else { tail + 1 };
                let before = d.state();
                d.record(ok, Evidence::Ambiguous);
                if d.state() == Health::Down && before != Health::Down {
                    prop_assert!(tail >= 8);
                }
            }
        }
    }
}
