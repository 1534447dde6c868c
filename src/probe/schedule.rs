//! Scheduling math: when a check runs next. Pure; the random draw is passed in.
//!
//! Each check first waits a random offset within one interval, so thousands of checks
//! loaded at once spread over the interval instead of firing together. Afterwards the
//! period is `interval`, or `fast_interval` while a state change is in progress (so a
//! failure is confirmed in one interval plus `fall - 1` fast intervals), plus a random
//! jitter in `[0, jitter)`. Periods are measured from the previous start, not its end, so a
//! slow target does not stretch the period (a run still never overlaps the next: timeouts
//! are below the interval, and a late run starts at once).

use super::defs::Timing;
use std::time::Duration;

/// The delay before a check's first run; `u` is a uniform draw in `[0, 1)`.
pub fn first_delay(timing: &Timing, u: f64) -> Duration {
    timing.interval.mul_f64(u.clamp(0.0, 1.0))
}

/// The period from this run's start to the next; `u` is a uniform draw in `[0, 1)`.
pub fn period(timing: &Timing, pending: bool, u: f64) -> Duration {
    let base = match (pending, timing.fast_interval) {
        (true, Some(fast)) => fast,
        _ => timing.interval,
    };
    base + timing.jitter.mul_f64(u.clamp(0.0, 1.0))
}

/// Worst-case time from a target failing to a `Down` verdict from an `Up` check.
pub fn detection_bound(timing: &Timing) -> Duration {
    let fast = timing.fast_interval.unwrap_or(timing.interval);
    timing.interval
        + fast * timing.fall.saturating_sub(1)
        + timing.timeout
        + timing.jitter * timing.fall
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            interval: Duration::from_millis(1000),
            fast_interval: Some(Duration::from_millis(200)),
            timeout: Duration::from_millis(300),
            rise: 2,
            fall: 3,
            loss_window: 10,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 5,
            jitter: Duration::from_millis(100),
        }
    }

    #[test]
    fn pending_checks_use_the_fast_interval() {
        let t = timing();
        assert_eq!(period(&t, false, 0.0), Duration::from_millis(1000));
        assert_eq!(period(&t, true, 0.0), Duration::from_millis(200));
        assert_eq!(period(&t, true, 0.5), Duration::from_millis(250));
        let slow = Timing {
            fast_interval: None,
            ..t
        };
        assert_eq!(period(&slow, true, 0.0), Duration::from_millis(1000));
    }

    #[test]
    fn jitter_and_offset_stay_in_bounds() {
        let t = timing();
        for u in [0.0, 0.3, 0.999_999, 7.0, -1.0] {
            let p = period(&t, false, u);
            assert!(p >= t.interval && p <= t.interval + t.jitter, "{p:?}");
            assert!(first_delay(&t, u) <= t.interval);
        }
    }

    #[test]
    fn detection_is_one_interval_plus_fall_minus_one_fast_intervals() {
        let t = Timing {
            jitter: Duration::ZERO,
            timeout: Duration::ZERO,
            ..timing()
        };
        assert_eq!(detection_bound(&t), Duration::from_millis(1400));
    }
}
