//! The rise/fall hysteresis of one check, over plain data (no clock, no I/O).
//!
//! A check starts `Unknown`. `rise` consecutive successes make it `Up`, `fall` consecutive
//! failures make it `Down`; an opposite result resets the run. While a change is in progress
//! (unknown, or a run against the current state) the scheduler uses `fast_interval`.

use crate::model::Health;

/// A state change of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: Health,
    /// State after.
    pub to: Health,
}

/// Rise/fall counters and the current state of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiseFall {
    state: Health,
    ok_run: u32,
    fail_run: u32,
    rise: u32,
    fall: u32,
}

impl RiseFall {
    /// A new machine in `Unknown`; `rise`/`fall` below 1 are treated as 1.
    pub fn new(rise: u32, fall: u32) -> Self {
        RiseFall {
            state: Health::Unknown,
            ok_run: 0,
            fail_run: 0,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// The current state.
    pub fn state(&self) -> Health {
        self.state
    }

    /// Consecutive successes and failures counted so far.
    pub fn runs(&self) -> (u32, u32) {
        (self.ok_run, self.fail_run)
    }

    /// Whether a state change is in progress, so the next run should come quickly.
    pub fn pending(&self) -> bool {
        match self.state {
            Health::Unknown => true,
            Health::Up => self.fail_run > 0,
            Health::Down => self.ok_run > 0,
        }
    }

    /// Feeds one result; returns the transition it caused, if any.
    pub fn record(&mut self, ok: bool) -> Option<Transition> {
        if ok {
            self.fail_run = 0;
            self.ok_run = self.ok_run.saturating_add(1);
        } else {
            self.ok_run = 0;
            self.fail_run = self.fail_run.saturating_add(1);
        }
        let next = if self.ok_run >= self.rise {
            Health::Up
        } else if self.fail_run >= self.fall {
            Health::Down
        } else {
            self.state
        };
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
    use Health::*;

    fn feed(m: &mut RiseFall, results: &[bool]) -> Vec<Option<Health>> {
        results
            .iter()
            .map(|ok| m.record(*ok).map(|t| t.to))
            .collect()
    }

    #[test]
    fn goes_down_after_exactly_fall_failures_and_up_after_rise() {
        let mut m = RiseFall::new(2, 3);
        assert_eq!(feed(&mut m, &[true, true]), [None, Some(Up)]);
        assert_eq!(feed(&mut m, &[false, false]), [None, None]);
        assert_eq!(m.state(), Up);
        assert!(m.pending());
        assert_eq!(feed(&mut m, &[false]), [Some(Down)]);
        assert_eq!(feed(&mut m, &[true, true]), [None, Some(Up)]);
        assert!(!m.pending());
    }

    #[test]
    fn an_opposite_result_resets_the_run() {
        let mut m = RiseFall::new(2, 3);
        feed(&mut m, &[true, true]);
        assert_eq!(
            feed(&mut m, &[false, false, true, false, false]),
            [None, None, None, None, None]
        );
        assert_eq!(m.state(), Up);
        assert_eq!(feed(&mut m, &[false]), [Some(Down)]);
    }

    #[test]
    fn unknown_resolves_either_way_and_is_pending() {
        let mut m = RiseFall::new(3, 1);
        assert!(m.pending());
        assert_eq!(feed(&mut m, &[false]), [Some(Down)]);
        let mut m = RiseFall::new(1, 1);
        assert_eq!(feed(&mut m, &[true]), [Some(Up)]);
    }

    #[test]
    fn transitions_report_the_old_state() {
        let mut m = RiseFall::new(1, 1);
        m.record(true);
        assert_eq!(m.record(false), Some(Transition { from: Up, to: Down }));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Over any sequence, a change happens exactly when the trailing run of equal
        /// results reaches `rise` (to up) or `fall` (to down), and never otherwise.
        #[test]
        fn changes_only_when_a_run_reaches_rise_or_fall(
            rise in 1u32..5,
            fall in 1u32..5,
            results in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let mut m = RiseFall::new(rise, fall);
            let (mut run_ok, mut run_fail) = (0u32, 0u32);
            for ok in results {
                let before = m.state();
                if ok { run_ok += 1; run_fail = 0; } else { run_fail += 1; run_ok = 0; }
                let expected = if run_ok >= rise {
                    Health::Up
                } else if run_fail >= fall {
                    Health::Down
                } else {
                    before
                };
                let t = m.record(ok);
                prop_assert_eq!(m.state(), expected);
                prop_assert_eq!(t.is_some(), expected != before);
            }
        }
    }
}
