//! Flap damping for automatic switches, after BGP route-flap damping (RFC 2439). Pure.
//!
//! Each automatic switch of a service (failover, failback, a confirmed proposal) adds
//! `penalty` to a figure that halves every `half_life`. When it exceeds `suppress` right
//! after a switch, automatic switching of that service stops ("flapping"); once it has decayed
//! below `reuse` it resumes. Operators can still switch. With the defaults (1000 / 1500 / 750)
//! a failover and a failback within one half-life suppress, and suppression lasts at least
//! one more half-life, so no schedule yields more than one automatic failover and one
//! automatic failback per half-life.
//!
//! The state lives in the committed record ([`DampingState`]), so a restarted or new leader
//! keeps it; `now` is passed in.

use crate::config::presets::Damping;
use crate::model::{DampingState, Timestamp};

/// The penalty decayed to `now`.
pub fn decayed(d: &Damping, s: &DampingState, now: Timestamp) -> f64 {
    let age = now.since(s.at).as_secs_f64();
    let hl = d.half_life.as_secs_f64().max(1e-3);
    f64::from(s.penalty) * (-age / hl).exp2()
}

/// Whether automatic switching is suppressed at `now`.
pub fn suppressed(d: &Damping, s: &DampingState, now: Timestamp) -> bool {
    s.suppressed && decayed(d, s, now) >= f64::from(d.reuse)
}

/// Records one automatic switch at `now`; returns whether it made the service flap.
pub fn record_switch(d: &Damping, s: &mut DampingState, now: Timestamp) -> bool {
    let p = decayed(d, s, now) + f64::from(d.penalty);
    let was = suppressed(d, s, now);
    s.penalty = p.round().min(f64::from(u32::MAX)) as u32;
    s.at = now;
    s.suppressed = p > f64::from(d.suppress);
    s.suppressed && !was
}

/// When a suppression in force ends (the penalty decays below `reuse`), if it is in force.
pub fn reuse_at(d: &Damping, s: &DampingState, now: Timestamp) -> Option<Timestamp> {
    if !suppressed(d, s, now) {
        return None;
    }
    let ratio = f64::from(s.penalty) / f64::from(d.reuse.max(1));
    let secs = ratio.log2().max(0.0) * d.half_life.as_secs_f64();
    // One millisecond later so the decayed figure is strictly below `reuse` then.
    Some(
        s.at.add(std::time::Duration::from_secs_f64(secs))
            .add(std::time::Duration::from_millis(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn d() -> Damping {
        Damping {
            penalty: 1000,
            suppress: 1500,
            reuse: 750,
            half_life: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_failover_and_failback_within_a_half_life_suppress_until_reuse() {
        let mut s = DampingState::default();
        assert!(!record_switch(&d(), &mut s, Timestamp(1_000)));
        assert!(!suppressed(&d(), &s, Timestamp(2_000)));
        assert!(record_switch(&d(), &mut s, Timestamp(31_000)), "flapping");
        assert!(suppressed(&d(), &s, Timestamp(31_000)));
        let end = reuse_at(&d(), &s, Timestamp(31_000)).expect("in force");
        assert!(end >= Timestamp(31_000 + 60_000), "at least one half-life");
        assert!(suppressed(&d(), &s, Timestamp(end.0 - 2)));
        assert!(!suppressed(&d(), &s, end));
        assert_eq!(reuse_at(&d(), &s, end), None);
    }

    #[test]
    fn switches_a_half_life_apart_do_not_suppress() {
        let mut s = DampingState::default();
        assert!(!record_switch(&d(), &mut s, Timestamp(0)));
        assert!(!record_switch(&d(), &mut s, Timestamp(61_000)));
        assert!(!suppressed(&d(), &s, Timestamp(61_000)));
    }
}
