//! Runs one schedule: the simulated world, probes, a lossy network, operators and the engine,
//! checking S1–S4 and L1 after every engine step.

mod checks;

use super::oracle::Oracle;
use super::schedule::{Ev, HEALTHY_DELAY, PERIOD, S, Schedule};
use crate::fixture;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use switchback::model::{CheckName, Committed, Health, Observation, ServiceId, SiteId, Timestamp};
use switchback::policy::{Command, Engine, Input, PendingKind};
use switchback::tally::Verifier;

/// Virtual time starts here (ms since the Unix epoch, any value works).
const T0: u64 = 1_000_000;
const STALE: u64 = 1_000;

/// What one run exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Engine inputs handled.
    pub(crate) steps: u64,
    /// Automatic (or confirmed) switches.
    pub(crate) switches: u64,
    /// L1 windows (primary down, backup up, clean quorum) that ended in the required switch.
    pub(crate) l1_met: u64,
    /// Flap-damping suppressions (S5 exercised).
    pub(crate) suppressed: u64,
}

/// A violated property, with where and why.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) at: u64,
    pub(crate) property: &'static str,
    pub(crate) detail: String,
}

#[derive(Clone, Debug)]
struct Probe {
    alive: bool,
    partition: [bool; 2],
    uplink_ok: bool,
    loss: u8,
    delay: u64,
    seq: u64,
    /// The last messages sent (for replays).
    sent: VecDeque<Msg>,
    /// Last time it was not healthy (for L1's "a quorum can see both").
    last_bad: Option<u64>,
}

impl Probe {
    fn healthy(&self) -> bool {
        self.alive
            && self.uplink_ok
            && !self.partition[0]
            && !self.partition[1]
            && self.loss == 0
            && self.delay <= HEALTHY_DELAY
    }
}

/// One message on the wire: what a probe measured, compactly (app, host, link per site).
#[derive(Clone, Copy, Debug)]
struct Msg {
    probe: usize,
    seq: u64,
    at: u64,
    self_ok: bool,
    views: [[Health; 3]; 2],
    gates: [Health; 2],
}

#[derive(Clone, Copy, Debug)]
struct Truth {
    app: bool,
    host: bool,
}

enum Action {
    Emit(usize),
    Deliver(Msg),
    World(usize),
}

/// A small deterministic hash for per-message noise (stable when events are removed by shrinking).
fn noise(seed: u64, probe: usize, seq: u64, salt: u64) -> u64 {
    let mut z = seed
        ^ (probe as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ seq.wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Run<'a> {
    s: &'a Schedule,
    cfg: switchback::config::Config,
    engine: Engine,
    verifier: Verifier,
    oracle: Oracle,
    probes: Vec<Probe>,
    domains: Vec<String>,
    truth: [Truth; 2],
    gate_up: bool,
    queue: BTreeMap<(u64, u64), Action>,
    order: u64,
    steps: u64,
    l1_met: u64,
    suppressed: u64,
    // What the checks remember.
    epoch: u64,
    active: SiteId,
    committed: Option<Committed>,
    last_switch: u64,
    auto_switches: usize,
    /// S5: when each automatic failover ([0]) and failback ([1]) happened.
    auto_at: [Vec<u64>; 2],
    proposal: Option<(SiteId, PendingKind)>,
    /// L1: since when its condition has held, and with which healthy probes.
    window: Option<(u64, u32)>,
    /// No operator and nothing that can make the backup look down: S4's "at most one switch" applies.
    quiet: bool,
}

fn site_id(s: S) -> SiteId {
    SiteId::from(s.name())
}

fn h(b: bool) -> Health {
    if b { Health::Up } else { Health::Down }
}

/// Run a schedule; what it exercised, or the first violated property.
pub(crate) fn run(s: &Schedule) -> Result<Stats, Failure> {
    let p = &s.params;
    let mut policy = fixture::policy();
    policy.mode = p.mode;
    policy.quorum = p.quorum;
    policy.min_domains = p.min_domains;
    policy.hold_down = Duration::from_millis(p.hold_down);
    policy.confirm_timeout = Duration::from_millis(p.confirm_timeout);
    policy.on_confirm_timeout = p.on_timeout;
    policy.failback = p.failback;
    policy.failback_hold = Duration::from_millis(p.failback_hold);
    policy.hold_out_recovered = p.hold_out;
    policy.damping.half_life = Duration::from_millis(p.half_life);
    let gate = p.gate.then(|| CheckName::from("replication-lag"));
    policy.gates = gate.iter().cloned().collect();
    let voters = fixture::voters(p.probes, p.domains);
    let mut cfg = fixture::config(&["crm"], voters.clone(), policy);
    cfg.votes.stale_after = Duration::from_millis(STALE);
    let (engine, init) = Engine::new(&cfg, BTreeMap::new(), Timestamp(T0));
    let mut run = Run {
        s,
        cfg,
        engine,
        verifier: Verifier::new(Vec::new(), &voters, Duration::from_millis(STALE)),
        oracle: Oracle::new(p.probes, STALE, p.quorum, p.min_domains, p.gate),
        probes: vec![
            Probe {
                alive: true,
                partition: [false; 2],
                uplink_ok: true,
                loss: 0,
                delay: 0,
                seq: 0,
                sent: VecDeque::new(),
                last_bad: None,
            };
            p.probes
        ],
        domains: voters.iter().map(|v| v.domain.0.clone()).collect(),
        truth: [Truth {
            app: true,
            host: true,
        }; 2],
        gate_up: true,
        queue: BTreeMap::new(),
        order: 0,
        steps: 0,
        l1_met: 0,
        suppressed: 0,
        epoch: 0,
        active: site_id(S::Bj),
        committed: None,
        last_switch: T0,
        auto_switches: 0,
        auto_at: [Vec::new(), Vec::new()],
        proposal: None,
        window: None,
        quiet: !s.events.iter().any(|(_, e)| {
            e.is_command()
                || matches!(
                    e,
                    Ev::Truth { site: S::Sh, .. }
                        | Ev::Partition { site: S::Sh, .. }
                        | Ev::Uplink { .. }
                        | Ev::Gate { .. }
                )
        }),
    };
    run.check(T0, &init, None)?;
    for i in 0..p.probes {
        let phase = noise(s.seed, i, 0, 7) % PERIOD;
        run.push(T0 + phase, Action::Emit(i));
    }
    for (i, (t, _)) in s.events.iter().enumerate() {
        run.push(T0 + t, Action::World(i));
    }
    let end = T0 + p.horizon;
    // The engine's deadline changes only when it handles an input.
    let mut deadline = run.engine.next_deadline().map(|t| t.0).unwrap_or(u64::MAX);
    loop {
        let next_q = run.queue.keys().next().map(|k| k.0).unwrap_or(u64::MAX);
        let now = next_q.min(deadline);
        if now > end {
            break;
        }
        let steps = run.steps;
        if deadline <= next_q {
            run.step(now, Input::Tick, None)?;
        } else {
            let Some((_, action)) = run.queue.pop_first() else {
                break;
            };
            match action {
                Action::Emit(i) => run.emit(now, i),
                Action::Deliver(m) => run.deliver(now, m)?,
                Action::World(i) => run.world(now, i)?,
            }
        }
        if run.steps != steps {
            deadline = run.engine.next_deadline().map(|t| t.0).unwrap_or(u64::MAX);
        }
    }
    Ok(Stats {
        steps: run.steps,
        switches: run.auto_switches as u64,
        l1_met: run.l1_met,
        suppressed: run.suppressed,
    })
}

impl Run<'_> {
    fn push(&mut self, at: u64, a: Action) {
        self.order += 1;
        self.queue.insert((at, self.order), a);
    }

    /// What probe `i` measures now, compactly (turned into an [`Observation`] only on delivery).
    fn observe(&self, i: usize, now: u64) -> Msg {
        let pr = &self.probes[i];
        let mut views = [[Health::Unknown; 3]; 2];
        let mut gates = [Health::Unknown; 2];
        for k in 0..2 {
            let t = self.truth[k];
            let cut = !pr.uplink_ok || pr.partition[k];
            views[k] = if cut {
                [Health::Down; 3]
            } else {
                [h(t.app), h(t.host), Health::Up]
            };
            gates[k] = if cut {
                Health::Unknown
            } else if k == 1 {
                h(self.gate_up)
            } else {
                h(t.app)
            };
        }
        Msg {
            probe: i,
            seq: pr.seq,
            at: now,
            self_ok: pr.uplink_ok,
            views,
            gates,
        }
    }

    /// The observation a message carries, as the engine receives it.
    fn build(&self, m: &Msg) -> Observation {
        let node = format!("p{}", m.probe);
        let mut o = fixture::obs(&node, &self.domains[m.probe], m.seq, m.at);
        for (k, site) in [S::Bj, S::Sh].map(S::name).into_iter().enumerate() {
            let [app, host, link] = m.views[k];
            o = o
                .site(site, fixture::view(app, host, link))
                .service("crm", site, app);
            if self.s.params.gate {
                o = o.gate(site, "replication-lag", m.gates[k]);
            }
        }
        if !m.self_ok {
            o = o.abstain("uplink down");
        }
        o.build()
    }

    fn emit(&mut self, now: u64, i: usize) {
        self.push(now + PERIOD, Action::Emit(i));
        if !self.probes[i].alive {
            return;
        }
        self.probes[i].seq += 1;
        let m = self.observe(i, now);
        let (seed, seq) = (self.s.seed, m.seq);
        let pr = &mut self.probes[i];
        if pr.sent.len() == 20 {
            pr.sent.pop_front();
        }
        pr.sent.push_back(m);
        if noise(seed, i, seq, 1) % 100 < u64::from(pr.loss) {
            return;
        }
        let delay = noise(seed, i, seq, 2) % (pr.delay + 1);
        let dup = noise(seed, i, seq, 3) % 100 < 5;
        let dup_delay = delay + noise(seed, i, seq, 4) % (pr.delay + 50);
        if dup {
            self.push(now + dup_delay, Action::Deliver(m));
        }
        self.push(now + delay, Action::Deliver(m));
    }

    fn deliver(&mut self, now: u64, m: Msg) -> Result<(), Failure> {
        let o = self.build(&m);
        if self.verifier.admit(&o, Timestamp(now)).is_err() {
            return Ok(());
        }
        self.oracle.accept(
            m.probe,
            m.probe % self.s.params.domains,
            m.at,
            m.self_ok,
            m.views,
            m.gates,
        );
        self.step(now, Input::Observation(o), None)
    }

    fn world(&mut self, now: u64, i: usize) -> Result<(), Failure> {
        let ev = self.s.events[i].1.clone();
        let svc = ServiceId::from("crm");
        let by = "sim".to_owned();
        let cmd = match ev {
            Ev::Truth { site, app, host } => {
                self.truth[site as usize] = Truth { app, host };
                None
            }
            Ev::Gate { up } => {
                self.gate_up = up;
                None
            }
            Ev::Alive { probe, on } => {
                self.probes[probe].alive = on;
                None
            }
            Ev::Partition { probe, site, on } => {
                self.probes[probe].partition[site as usize] = on;
                None
            }
            Ev::Uplink { probe, ok } => {
                self.probes[probe].uplink_ok = ok;
                None
            }
            Ev::Loss { probe, pct } => {
                self.probes[probe].loss = pct;
                None
            }
            Ev::Delay { probe, max_ms } => {
                self.probes[probe].delay = max_ms;
                None
            }
            Ev::Replay { probe, back } => {
                let sent = &self.probes[probe].sent;
                if let Some(o) = sent
                    .len()
                    .checked_sub(back)
                    .and_then(|k| sent.get(k))
                    .cloned()
                {
                    self.deliver(now, o)?;
                }
                None
            }
            Ev::Switch { to, force } => Some(Command::Switch {
                service: svc,
                to: site_id(to),
                reason: "sim".into(),
                by,
                force,
            }),
            Ev::Approve => Some(Command::Approve { service: svc, by }),
            Ev::Reject => Some(Command::Reject { service: svc, by }),
            Ev::Maintenance { on } => Some(Command::Maintenance {
                service: svc,
                on,
                by,
            }),
            Ev::Readmit { site } => Some(Command::Readmit {
                service: svc,
                site: site_id(site),
                by,
            }),
            Ev::Restart => return self.restart(now),
        };
        match cmd {
            Some(c) => {
                self.window = None;
                let forced = matches!(c, Command::Switch { force: true, .. });
                let approve = matches!(c, Command::Approve { .. });
                self.step(now, Input::Command(c), Some((forced, approve)))
            }
            None => self.l1(now),
        }
    }

    /// A restarted authority resumes the committed decision exactly: no commit, same epoch and site.
    fn restart(&mut self, now: u64) -> Result<(), Failure> {
        let committed = self.engine.committed();
        let (engine, out) = Engine::new(&self.cfg, committed, Timestamp(now));
        self.engine = engine;
        let voters = self.cfg.votes.voters.clone();
        self.verifier = Verifier::new(Vec::new(), &voters, Duration::from_millis(STALE));
        self.oracle.reset();
        self.window = None;
        self.steps += 1;
        let st = &self.engine.status()[0];
        if !out.is_empty() || st.epoch.0 != self.epoch || st.active_site != self.active {
            return self.fail(
                now,
                "S3",
                format!(
                    "restart changed the decision: {out:?}, {} at {}",
                    st.active_site, st.epoch
                ),
            );
        }
        Ok(())
    }

    fn step(&mut self, now: u64, input: Input, cmd: Option<(bool, bool)>) -> Result<(), Failure> {
        self.steps += 1;
        let out = self
            .engine
            .handle(input, Timestamp(now))
            .unwrap_or_default();
        self.oracle.step(now);
        self.check(now, &out, cmd)?;
        self.l1(now)
    }
}
