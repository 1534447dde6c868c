//! A deterministic simulator for the decision core: seeded schedules on virtual time.
//!
//! Each schedule draws probes, a policy, a story (an outage, a flapping primary, or only faults) and
//! random faults: probes crashing, partitioned from a site, losing their own uplink; lossy, delayed,
//! reordered, duplicated and replayed observations; operator commands at random times. Every
//! observation passes the real `Verifier::admit` checks (all but the HMAC) before the engine.
//! After every engine step it checks, against an independent [`oracle`]:
//! - **S1** no switch (nor proposal) to a site a quorum does not see up and ready (forced operator
//!   switches excepted);
//! - **S2** no automatic failover (or proposal) away from a site unless a quorum of counting probes
//!   from enough domains saw it down for `hold_down`; a confirmed switch needs a proposal;
//! - **S3** each commit has the next epoch;
//! - **S4** no automatic failback before `failback_hold` since the switch and of the primary being up;
//!   with manual failback, no operator and a steady backup, at most one automatic switch;
//! - **S5** (flap damping, default penalty/suppress/reuse) no two automatic failovers, nor two
//!   automatic failbacks, within one damping half-life without an operator's switch between
//!   them, whatever the story: outages, a flapping
//!   primary, a lossy primary (its app answering each period at random, 30 or 60 % down);
//! - **L1** with the primary really down, the backup really up and a clean quorum seeing both
//!   (auto mode, no maintenance or operator action, not suppressed by flap damping), the switch happens within
//!   `hold_down` + one period + the largest healthy delay.
//!
//! `cargo test --test policy sim -- --nocapture` prints what a run exercised (schedules, engine
//! steps, switches, L1 windows). `SIM_SOAK=<n>` runs `n` more schedules; `SIM_SEED=<s>` replays
//! one; `SIM_COUNT=<n>` resizes the normal run. A failure prints its seed and a shrunk schedule.

mod oracle;
mod schedule;
mod world;

use schedule::Schedule;
use world::{Failure, Stats, run};

/// Remove events one at a time while the schedule still fails.
fn shrink(s: &Schedule, fails: impl Fn(&Schedule) -> bool) -> Schedule {
    let mut cur = s.clone();
    loop {
        let mut smaller = false;
        for i in (0..cur.events.len()).rev() {
            let mut c = cur.clone();
            c.events.remove(i);
            if fails(&c) {
                cur = c;
                smaller = true;
            }
        }
        if !smaller {
            return cur;
        }
    }
}

/// Totals over many runs.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    schedules: u64,
    steps: u64,
    switches: u64,
    l1_met: u64,
    suppressed: u64,
}

impl Totals {
    fn add(self, o: Totals) -> Totals {
        Totals {
            schedules: self.schedules + o.schedules,
            steps: self.steps + o.steps,
            switches: self.switches + o.switches,
            l1_met: self.l1_met + o.l1_met,
            suppressed: self.suppressed + o.suppressed,
        }
    }
}

/// Run seeds `from..to`; on the first failure, panic with the seed and a shrunk schedule.
fn run_range(from: u64, to: u64) -> Totals {
    let mut t = Totals::default();
    for seed in from..to {
        let s = Schedule::generate(seed);
        match run(&s) {
            Ok(Stats {
                steps,
                switches,
                l1_met,
                suppressed,
            }) => {
                t = t.add(Totals {
                    schedules: 1,
                    steps,
                    switches,
                    l1_met,
                    suppressed,
                });
            }
            Err(Failure {
                at,
                property,
                detail,
            }) => {
                let small = shrink(&s, |c| run(c).is_err());
                let again = run(&small)
                    .err()
                    .map(|f| format!("{} at t={}: {}", f.property, f.at, f.detail));
                panic!(
                    "{property} violated at t={at}ms: {detail}\nreplay: SIM_SEED={seed}\nshrunk schedule ({}):\n{small}",
                    again.unwrap_or_default()
                );
            }
        }
    }
    t
}

/// Run `n` schedules from `first` on two threads.
fn run_many(first: u64, n: u64) -> Totals {
    let half = first + n / 2;
    std::thread::scope(|sc| {
        let a = sc.spawn(|| run_range(first, half));
        let b = run_range(half, first + n);
        let a = a.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        a.add(b)
    })
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn ten_thousand_schedules_keep_s1_to_s4_and_l1() {
    let started = tokio::time::Instant::now();
    let one = env_u64("SIM_SEED");
    let t = match one {
        Some(seed) => run_range(seed, seed + 1),
        None => run_many(0, env_u64("SIM_COUNT").unwrap_or(10_000)),
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "simulator: {} schedules, {} engine steps, {} automatic switches, {} L1 windows met, {} flap-damping suppressions (S5), in {secs:.2}s = {:.0} schedules/s",
        t.schedules,
        t.steps,
        t.switches,
        t.l1_met,
        t.suppressed,
        t.schedules as f64 / secs,
    );
    if one.is_none() {
        assert!(
            t.steps > t.schedules * 40,
            "schedules too short to mean anything: {t:?}"
        );
        assert!(
            t.switches > t.schedules / 10,
            "too few switches exercised: {t:?}"
        );
        assert!(
            t.suppressed > t.schedules / 50,
            "too few flap-damping suppressions exercised: {t:?}"
        );
        assert!(
            t.l1_met > t.schedules / 20,
            "too few L1 windows exercised: {t:?}"
        );
    }
}

#[test]
fn soak() {
    let Some(n) = env_u64("SIM_SOAK") else {
        eprintln!("soak skipped: set SIM_SOAK=<schedules>");
        return;
    };
    let started = tokio::time::Instant::now();
    let t = run_many(1_000_000, n);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "soak: {t:?} in {secs:.1}s = {:.0} schedules/s",
        t.schedules as f64 / secs
    );
}

#[test]
fn shrinking_keeps_only_what_fails() {
    let s = (0..200)
        .map(Schedule::generate)
        .find(|s| {
            s.events.len() > 4
                && s.events
                    .iter()
                    .any(|(_, e)| matches!(e, schedule::Ev::Approve))
        })
        .unwrap_or_else(|| panic!("no seed below 200 has an Approve among 5+ events"));
    let small = shrink(&s, |c| {
        c.events
            .iter()
            .any(|(_, e)| matches!(e, schedule::Ev::Approve))
    });
    assert_eq!(small.events.len(), 1, "{small}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for seed in [1, 42, 4242] {
        let s = Schedule::generate(seed);
        assert_eq!(
            run(&s).ok(),
            run(&Schedule::generate(seed)).ok(),
            "seed {seed}"
        );
    }
}
