//! A sliding window of recent pings and its statistics (loss, average, p95, jitter), judged
//! against a link-layer check's thresholds. Plain data: no clock, no I/O.

use super::defs::WindowSpec;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// The last `size` ping results; `None` is a lost ping.
#[derive(Clone, Debug, Default)]
pub struct Window {
    size: usize,
    samples: VecDeque<Option<Duration>>,
}

/// Statistics over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowStats {
    /// Pings in the window.
    pub sent: usize,
    /// Pings lost.
    pub lost: usize,
    /// Loss in percent (0 for an empty window).
    pub loss_pct: f64,
    /// Average RTT of answered pings.
    pub avg: Option<Duration>,
    /// 95th percentile RTT (nearest rank) of answered pings.
    pub p95: Option<Duration>,
    /// Mean absolute difference between consecutive answered RTTs.
    pub jitter: Option<Duration>,
}

impl fmt::Display for WindowStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.2}ms", d.as_secs_f64() * 1e3)
            })
        };
        write!(
            f,
            "loss {:.0}% ({}/{}) avg {} p95 {} jitter {}",
            self.loss_pct,
            self.lost,
            self.sent,
            ms(self.avg),
            ms(self.p95),
            ms(self.jitter)
        )
    }
}

impl Window {
    /// An empty window holding at most `size` samples (at least 1).
    pub fn new(size: usize) -> Self {
        Window {
            size: size.max(1),
            samples: VecDeque::with_capacity(size.clamp(1, 1024)),
        }
    }

    /// Adds one ping result, dropping the oldest when full.
    pub fn push(&mut self, rtt: Option<Duration>) {
        if self.samples.len() == self.size {
            self.samples.pop_front();
        }
        self.samples.push_back(rtt);
    }

    /// Statistics over the samples held.
    pub fn stats(&self) -> WindowStats {
        let sent = self.samples.len();
        let mut rtts: Vec<Duration> = self.samples.iter().flatten().copied().collect();
        let lost = sent - rtts.len();
        let loss_pct = if sent == 0 {
            0.0
        } else {
            lost as f64 * 100.0 / sent as f64
        };
        let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<Duration>() / rtts.len() as u32);
        let jitter = (rtts.len() >= 2).then(|| {
            let diffs: Duration = rtts.windows(2).map(|w| w[0].abs_diff(w[1])).sum();
            diffs / (rtts.len() - 1) as u32
        });
        rtts.sort_unstable();
        let p95 = (!rtts.is_empty()).then(|| {
            let rank = (rtts.len() * 95).div_ceil(100).max(1);
            rtts[rank - 1]
        });
        WindowStats {
            sent,
            lost,
            loss_pct,
            avg,
            p95,
            jitter,
        }
    }
}

/// Judges statistics against thresholds: `Err` names the first threshold exceeded.
pub fn judge(stats: &WindowStats, spec: &WindowSpec) -> Result<(), String> {
    if stats.sent == 0 {
        return Err("no pings yet".into());
    }
    if stats.loss_pct > spec.max_loss {
        return Err(format!(
            "loss {:.0}% > max_loss {}% ({stats})",
            stats.loss_pct, spec.max_loss
        ));
    }
    let over = |v: Option<Duration>, max: Option<Duration>| match (v, max) {
        (Some(v), Some(m)) => v > m,
        _ => false,
    };
    if over(stats.avg, spec.max_rtt) {
        return Err(format!(
            "avg rtt over max_rtt {:?} ({stats})",
            spec.max_rtt.unwrap_or_default()
        ));
    }
    if over(stats.p95, spec.max_p95) {
        return Err(format!(
            "p95 rtt over max_p95 {:?} ({stats})",
            spec.max_p95.unwrap_or_default()
        ));
    }
    if over(stats.jitter, spec.max_jitter) {
        return Err(format!(
            "jitter over max_jitter {:?} ({stats})",
            spec.max_jitter.unwrap_or_default()
        ));
    }
    if stats.lost == stats.sent {
        return Err(format!("every ping lost ({stats})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    fn spec() -> WindowSpec {
        WindowSpec {
            size: 10,
            max_loss: 20.0,
            max_rtt: Some(Duration::from_millis(50)),
            max_p95: Some(Duration::from_millis(80)),
            max_jitter: Some(Duration::from_millis(10)),
        }
    }

    #[test]
    fn stats_over_a_known_series() {
        let mut w = Window::new(4);
        for s in [ms(10), None, ms(20), ms(40)] {
            w.push(s);
        }
        let st = w.stats();
        assert_eq!((st.sent, st.lost), (4, 1));
        assert_eq!(st.loss_pct, 25.0);
        assert_eq!(st.avg, ms(23).map(|d| d + Duration::from_nanos(333_333)));
        assert_eq!(st.p95, ms(40));
        assert_eq!(st.jitter, ms(15));
    }

    #[test]
    fn oldest_sample_leaves_a_full_window() {
        let mut w = Window::new(2);
        w.push(None);
        w.push(ms(1));
        w.push(ms(1));
        assert_eq!(w.stats().lost, 0);
    }

    #[test]
    fn each_threshold_trips_on_its_own() {
        let s = spec();
        let mut w = Window::new(10);
        (0..10).for_each(|_| w.push(ms(5)));
        assert_eq!(judge(&w.stats(), &s), Ok(()));

        let mut lossy = w.clone();
        (0..3).for_each(|_| lossy.push(None));
        assert!(judge(&lossy.stats(), &s).unwrap_err().contains("max_loss"));

        let mut slow = Window::new(10);
        (0..10).for_each(|_| slow.push(ms(60)));
        assert!(judge(&slow.stats(), &s).unwrap_err().contains("max_rtt"));

        let mut jittery = Window::new(10);
        (0..10).for_each(|i| jittery.push(ms(if i % 2 == 0 { 1 } else { 30 })));
        assert!(
            judge(&jittery.stats(), &s)
                .unwrap_err()
                .contains("max_jitter")
        );

        let mut tail = Window::new(10);
        (0..9).for_each(|_| tail.push(ms(1)));
        tail.push(ms(200));
        let mut loose = s.clone();
        loose.max_rtt = None;
        loose.max_jitter = None;
        assert!(
            judge(&tail.stats(), &loose)
                .unwrap_err()
                .contains("max_p95")
        );
    }

    #[test]
    fn all_lost_is_a_failure_even_without_a_loss_threshold() {
        let mut s = spec();
        s.max_loss = 100.0;
        let mut w = Window::new(3);
        (0..3).for_each(|_| w.push(None));
        assert!(judge(&w.stats(), &s).is_err());
        assert!(judge(&Window::new(3).stats(), &s).is_err());
    }
}
