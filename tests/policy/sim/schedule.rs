//! A simulator schedule: the knobs of one run and the world events at their times, drawn from a seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;
use switchback::config::{ConfirmTimeout, Failback, Mode};

/// Probes, sites and the policy under test for one schedule.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub(crate) probes: usize,
    pub(crate) domains: usize,
    pub(crate) quorum: usize,
    pub(crate) min_domains: usize,
    pub(crate) hold_down: u64,
    pub(crate) mode: Mode,
    pub(crate) confirm_timeout: u64,
    pub(crate) on_timeout: ConfirmTimeout,
    pub(crate) failback: Failback,
    pub(crate) failback_hold: u64,
    pub(crate) hold_out: bool,
    pub(crate) gate: bool,
    /// Flap-damping half-life (ms); penalty, suppress and reuse are the defaults.
    pub(crate) half_life: u64,
    /// How long the run lasts (virtual ms).
    pub(crate) horizon: u64,
}

/// The two serving sites of the simulated world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum S {
    Bj,
    Sh,
}

impl S {
    pub(crate) fn name(self) -> &'static str {
        match self {
            S::Bj => "bj",
            S::Sh => "sh",
        }
    }
}

/// Something that happens to the world or an operator does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    /// The service at a site answers (app) and its server answers ICMP (host).
    Truth {
        site: S,
        app: bool,
        host: bool,
    },
    /// The readiness gate at the backup.
    Gate {
        up: bool,
    },
    /// A probe stops (false) or starts again (true).
    Alive {
        probe: usize,
        on: bool,
    },
    /// A probe cannot reach a site (sees every layer down) or can again.
    Partition {
        probe: usize,
        site: S,
        on: bool,
    },
    /// A probe's own uplink fails: it sees everything down and abstains.
    Uplink {
        probe: usize,
        ok: bool,
    },
    /// Messages from a probe are dropped with this probability (percent).
    Loss {
        probe: usize,
        pct: u8,
    },
    /// Messages from a probe are delayed by up to this much (reorders, and stale when large).
    Delay {
        probe: usize,
        max_ms: u64,
    },
    /// An old message of a probe is delivered again (replay).
    Replay {
        probe: usize,
        back: usize,
    },
    /// The authority restarts: a new engine from what was committed, a new verifier.
    Restart,
    /// Operator commands.
    Switch {
        to: S,
        force: bool,
    },
    Approve,
    Reject,
    Maintenance {
        on: bool,
    },
    Readmit {
        site: S,
    },
}

impl Ev {
    pub(crate) fn is_command(&self) -> bool {
        matches!(
            self,
            Ev::Switch { .. }
                | Ev::Approve
                | Ev::Reject
                | Ev::Maintenance { .. }
                | Ev::Readmit { .. }
        )
    }
}

/// One run: knobs, events (sorted by time) and the seed that drew them (also keys message noise).
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    pub(crate) seed: u64,
    pub(crate) params: Params,
    pub(crate) events: Vec<(u64, Ev)>,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} {:?}", self.seed, self.params)?;
        for (t, e) in &self.events {
            writeln!(f, "  t={t:>6} {e:?}")?;
        }
        Ok(())
    }
}

/// Observation period of every probe (ms).
pub(crate) const PERIOD: u64 = 250;
/// Largest delay a probe still counts as "healthy" for L1 (ms).
pub(crate) const HEALTHY_DELAY: u64 = 200;

impl Schedule {
    /// Draw a schedule from a seed: a base story (outage, flapping, chaos) plus random faults and commands.
    pub(crate) fn generate(seed: u64) -> Schedule {
        let mut r = StdRng::seed_from_u64(seed);
        let probes = r.random_range(3..=5);
        let domains = r.random_range(2..=3.min(probes));
        let quorum = if r.random_bool(0.7) {
            probes / 2 + 1
        } else {
            2
        };
        let min_domains = r.random_range(1..=2);
        let mode = match r.random_range(0..10) {
            0..=6 => Mode::Auto,
            7..=8 => Mode::Confirm,
            _ => Mode::Manual,
        };
        let mut params = Params {
            probes,
            domains,
            quorum,
            min_domains,
            hold_down: r.random_range(2..=8) * 100,
            mode,
            confirm_timeout: r.random_range(4..=15) * 100,
            on_timeout: if r.random_bool(0.5) {
                ConfirmTimeout::Abort
            } else {
                ConfirmTimeout::Proceed
            },
            failback: if r.random_bool(0.5) {
                Failback::Auto
            } else {
                Failback::Manual
            },
            failback_hold: r.random_range(10..=25) * 100,
            hold_out: r.random_bool(0.2),
            gate: r.random_bool(0.3),
            half_life: 0,
            horizon: 4_000,
        };
        // The validator keeps an explicit half-life at or above failback_hold.
        params.half_life = params.failback_hold + r.random_range(0..=30) * 100;
        let story = r.random_range(0..5);
        if story == 3 {
            // A slow flapper needs room for several failover/failback cycles.
            params.failback = Failback::Auto;
            params.horizon = 12_000;
        }
        let h = params.horizon;
        let mut events = Vec::new();
        let t = |r: &mut StdRng| r.random_range(0..h / PERIOD) * PERIOD + r.random_range(0..PERIOD);
        match story {
            // An outage of the primary, perhaps recovering.
            0 => {
                let start = t(&mut r);
                let host = r.random_bool(0.3);
                events.push((
                    start,
                    Ev::Truth {
                        site: S::Bj,
                        app: false,
                        host: !host,
                    },
                ));
                if r.random_bool(0.5) {
                    let end = start + r.random_range(1..=25) * 100;
                    events.push((
                        end,
                        Ev::Truth {
                            site: S::Bj,
                            app: true,
                            host: true,
                        },
                    ));
                }
            }
            // A flapping primary.
            1 => {
                let mut at = t(&mut r) / 2;
                let down = r.random_range(1..=6) * 50;
                let up = r.random_range(1..=10) * 50;
                while at < h {
                    events.push((
                        at,
                        Ev::Truth {
                            site: S::Bj,
                            app: false,
                            host: true,
                        },
                    ));
                    events.push((
                        at + down,
                        Ev::Truth {
                            site: S::Bj,
                            app: true,
                            host: true,
                        },
                    ));
                    at += down + up;
                }
            }
            // A lossy primary: each period its app answers or not at random (30 or 60 % down).
            2 => {
                let down = [0.3, 0.6][r.random_range(0..2)];
                let mut at = t(&mut r) / 2;
                while at < h {
                    events.push((
                        at,
                        Ev::Truth {
                            site: S::Bj,
                            app: !r.random_bool(down),
                            host: true,
                        },
                    ));
                    at += PERIOD;
                }
            }
            // A slow flapper: down just past hold_down, up just past failback_hold, again and
            // again: every cycle would be a failover and a failback without damping.
            3 => {
                let mut at = t(&mut r) / 4;
                while at < h {
                    let down = params.hold_down + r.random_range(3..=10) * 100;
                    let up = params.failback_hold + r.random_range(5..=15) * 100;
                    events.push((
                        at,
                        Ev::Truth {
                            site: S::Bj,
                            app: false,
                            host: true,
                        },
                    ));
                    events.push((
                        at + down,
                        Ev::Truth {
                            site: S::Bj,
                            app: true,
                            host: true,
                        },
                    ));
                    at += down + up;
                }
            }
            // Only faults.
            _ => {}
        }
        let faults = r.random_range(0..=8);
        for _ in 0..faults {
            let probe = r.random_range(0..probes);
            let site = if r.random_bool(0.5) { S::Bj } else { S::Sh };
            let e = match r.random_range(0..17) {
                16 => Ev::Restart,
                0 => Ev::Truth {
                    site: S::Sh,
                    app: false,
                    host: r.random_bool(0.5),
                },
                1 => Ev::Truth {
                    site: S::Sh,
                    app: true,
                    host: true,
                },
                2 => Ev::Gate {
                    up: r.random_bool(0.7),
                },
                3 => Ev::Alive { probe, on: false },
                4 => Ev::Alive { probe, on: true },
                5 => Ev::Partition {
                    probe,
                    site,
                    on: true,
                },
                6 => Ev::Partition {
                    probe,
                    site,
                    on: false,
                },
                7 => Ev::Uplink { probe, ok: false },
                8 => Ev::Uplink { probe, ok: true },
                9 => Ev::Loss {
                    probe,
                    pct: [0, 30, 60, 100][r.random_range(0..4)],
                },
                10 => Ev::Delay {
                    probe,
                    max_ms: [0, 100, 200, 500, 1_500][r.random_range(0..5)],
                },
                11 => Ev::Replay {
                    probe,
                    back: r.random_range(1..=20),
                },
                12 => Ev::Truth {
                    site: S::Bj,
                    app: r.random_bool(0.5),
                    host: true,
                },
                _ => match r.random_range(0..6) {
                    0 => Ev::Switch {
                        to: site,
                        force: r.random_bool(0.3),
                    },
                    1 => Ev::Approve,
                    2 => Ev::Reject,
                    3 => Ev::Maintenance {
                        on: r.random_bool(0.5),
                    },
                    4 => Ev::Readmit { site },
                    _ => Ev::Approve,
                },
            };
            events.push((t(&mut r), e));
        }
        events.sort_by_key(|(t, _)| *t);
        Schedule {
            seed,
            params,
            events,
        }
    }
}
