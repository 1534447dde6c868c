//! Named timing profiles: one word (`lan`, `fast`, `standard`, `wan`) instead of a dozen
//! numbers. A check's `preset` key sets its timing defaults; a policy's `preset` key sets
//! `hold_down`, `failback_hold` and the flap damping. Keys written out still win.
//!
//! Detection bounds (worst case from the fault to the committed decision, one probe; the
//! answer follows within a millisecond). Definitive (refused, wrong status, carrier down):
//! interval + (fall − 1) · fast_interval + fall · jitter + hold_down. Black hole (silence on
//! app and host): interval + silence · max(fast_interval + jitter, timeout) + hold_down.
//!
//! | preset | definitive | black hole | measured in the failover lab (median, max) |
//! |---|---|---|---|
//! | `lan` | ≈ 0.12 s | ≈ 0.7 s | app 0.11 / 0.14 s, black hole 0.63 / 0.64 s |
//! | `fast` | ≈ 0.24 s | ≈ 1.1 s | app 0.18 / 0.23 s, link 0.14 / 0.15 s, black hole 1.01 / 1.03 s |
//! | `standard` | ≈ 4.3 s | ≈ 7.5 s | app 3.9 / 4.0 s, black hole 6.7 / 7.0 s |
//! | `wan` | ≈ 8.6 s | ≈ 13.5 s | app 6.9 / 7.0 s, black hole 13.0 / 13.2 s |
//!
//! Loss alone never takes a site down while either its app or its host check answers now and
//! then (30 % loss in the lab: no switch).
//!
//! "Black hole" assumes a site with both an app check and a host check (their silence
//! corroborates, see `probe::summary`); with an app check alone the window decides:
//! `window` fast-cadence timeouts.

use std::time::Duration;

/// Timing defaults for one check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckPreset {
    /// Period between runs.
    pub interval: Duration,
    /// Period while a change is in progress.
    pub fast_interval: Option<Duration>,
    /// Longest one run may take.
    pub timeout: Duration,
    /// Random delay added to each period.
    pub jitter: Duration,
    /// Consecutive successes to become up.
    pub rise: u32,
    /// Consecutive definitive failures to become down.
    pub fall: u32,
    /// Results in the sliding window that judges ambiguous failures.
    pub window: u32,
    /// Share of failures in a full window that makes the check down.
    pub down_ratio: f64,
    /// Share of failures in the window below which a down check may rise again; above it an
    /// up check shows as degraded.
    pub up_ratio: f64,
    /// Consecutive no-replies after which this check counts as silent (site corroboration).
    pub silence: u32,
}

/// Flap damping (RFC 2439 style) for one service's automatic switches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Damping {
    /// Penalty added by each automatic switch.
    pub penalty: u32,
    /// Above this (after adding), automatic switching stops.
    pub suppress: u32,
    /// Below this, automatic switching resumes.
    pub reuse: u32,
    /// The penalty halves every `half_life`.
    pub half_life: Duration,
}

/// Policy timing defaults for one service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolicyPreset {
    /// How long the active site must be down before an automatic failover.
    pub hold_down: Duration,
    /// How long the primary must be up again before an automatic failback.
    pub failback_hold: Duration,
    /// Flap damping.
    pub damping: Damping,
}

/// One named profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    /// Its keyword.
    pub name: &'static str,
    /// Check timing.
    pub check: CheckPreset,
    /// Policy timing.
    pub policy: PolicyPreset,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Default damping: one failover plus one failback within a half-life suppress.
const fn damping(half_life: Duration) -> Damping {
    Damping {
        penalty: 1000,
        suppress: 1500,
        reuse: 750,
        half_life,
    }
}

/// Every preset, default (`standard`) included.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "lan",
        check: CheckPreset {
            interval: ms(50),
            fast_interval: Some(ms(10)),
            timeout: ms(25),
            jitter: ms(5),
            rise: 2,
            fall: 2,
            window: 60,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 20,
        },
        policy: PolicyPreset {
            hold_down: ms(50),
            failback_hold: Duration::from_secs(30),
            damping: damping(Duration::from_secs(60)),
        },
    },
    Preset {
        name: "fast",
        check: CheckPreset {
            interval: ms(100),
            fast_interval: Some(ms(20)),
            timeout: ms(50),
            jitter: ms(10),
            rise: 2,
            fall: 2,
            window: 60,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 15,
        },
        policy: PolicyPreset {
            hold_down: ms(100),
            failback_hold: Duration::from_secs(30),
            damping: damping(Duration::from_secs(120)),
        },
    },
    Preset {
        name: "standard",
        check: CheckPreset {
            interval: ms(1000),
            fast_interval: None,
            timeout: ms(500),
            jitter: ms(100),
            rise: 2,
            fall: 3,
            window: 10,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 5,
        },
        policy: PolicyPreset {
            hold_down: ms(1000),
            failback_hold: Duration::from_secs(600),
            damping: damping(Duration::from_secs(900)),
        },
    },
    Preset {
        name: "wan",
        check: CheckPreset {
            interval: ms(2000),
            fast_interval: Some(ms(500)),
            timeout: ms(1000),
            jitter: ms(200),
            rise: 3,
            fall: 3,
            window: 15,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 6,
        },
        policy: PolicyPreset {
            hold_down: ms(5000),
            failback_hold: Duration::from_secs(1800),
            damping: damping(Duration::from_secs(3600)),
        },
    },
];

/// The default preset's keyword.
pub const DEFAULT_PRESET: &str = "standard";

/// The preset called `name`.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The default preset.
pub fn standard() -> &'static Preset {
    preset(DEFAULT_PRESET).unwrap_or(&PRESETS[2])
}

/// "lan, fast, standard, wan" for error messages.
pub fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_legal_by_the_validator_rules() {
        for p in PRESETS {
            let c = p.check;
            assert!(c.timeout < c.interval, "{}", p.name);
            assert!(c.jitter < c.interval, "{}", p.name);
            assert!(c.fall >= 2 && c.rise >= 2, "{}", p.name);
            assert!(c.window >= 2 && c.silence >= 2, "{}", p.name);
            assert!(c.up_ratio < c.down_ratio, "{}", p.name);
            assert!(
                p.policy.failback_hold >= p.policy.hold_down * 10,
                "{}",
                p.name
            );
            let d = p.policy.damping;
            assert!(d.reuse < d.suppress && d.penalty < d.suppress, "{}", p.name);
            assert!(d.penalty * 2 > d.suppress, "{}", p.name);
        }
        assert_eq!(standard().name, "standard");
    }
}
