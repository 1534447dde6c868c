//! A tiny driver: probes that all (or some) report what they see, on virtual time.

use crate::config::{Config, Voter};
use crate::fixture::{self, Obs};
use crate::model::{Committed, Health, ServiceId, SiteId, Timestamp};
use crate::policy::{Command, CommandError, Engine, Event, Input, Output};
use std::collections::BTreeMap;

pub(crate) use Health::{Down, Unknown, Up};

/// The one service of the harness configs.
pub(crate) const SVC: &str = "crm";

/// An observation of `crm` at bj and sh (app layer; hosts and links up): add to it, then `build`.
pub(crate) fn obs(v: &Voter, seq: u64, at: u64, bj: Health, sh: Health) -> Obs {
    let view = fixture::view(Unknown, Up, Up);
    fixture::obs_of(v, seq, at)
        .site("bj", view.clone())
        .site("sh", view)
        .service(SVC, "bj", bj)
        .service(SVC, "sh", sh)
}

/// The engine plus probes and a virtual clock.
pub(crate) struct H {
    pub(crate) engine: Engine,
    pub(crate) cfg: Config,
    pub(crate) now: u64,
    pub(crate) seq: u64,
    /// Every output so far, in order.
    pub(crate) log: Vec<Output>,
}

impl H {
    pub(crate) fn new(cfg: Config) -> H {
        Self::resume(cfg, BTreeMap::new(), 1_000)
    }

    pub(crate) fn resume(cfg: Config, committed: BTreeMap<ServiceId, Committed>, now: u64) -> H {
        let (engine, log) = Engine::new(&cfg, committed, Timestamp(now));
        H {
            engine,
            cfg,
            now,
            seq: 0,
            log,
        }
    }

    pub(crate) fn voters(&self) -> Vec<Voter> {
        self.cfg.votes.voters.clone()
    }

    pub(crate) fn input(&mut self, input: Input) -> Result<Vec<Output>, CommandError> {
        let out = self.engine.handle(input, Timestamp(self.now))?;
        self.log.extend(out.iter().cloned());
        Ok(out)
    }

    /// Voters `which` report `bj`/`sh` now.
    pub(crate) fn see(&mut self, which: &[usize], bj: Health, sh: Health) -> Vec<Output> {
        let voters = self.voters();
        let mut out = Vec::new();
        for &i in which {
            self.seq += 1;
            let o = obs(&voters[i], self.seq, self.now, bj, sh).build();
            out.extend(self.input(Input::Observation(o)).unwrap_or_default());
        }
        out
    }

    /// Every voter reports `bj`/`sh` every `period` ms for `ms` ms, ticking at deadlines between.
    pub(crate) fn run(&mut self, ms: u64, period: u64, bj: Health, sh: Health) -> Vec<Output> {
        let all: Vec<usize> = (0..self.cfg.votes.voters.len()).collect();
        self.run_some(&all, ms, period, bj, sh)
    }

    /// Like [`H::run`] for some voters only (the others fall silent).
    pub(crate) fn run_some(
        &mut self,
        which: &[usize],
        ms: u64,
        period: u64,
        bj: Health,
        sh: Health,
    ) -> Vec<Output> {
        let end = self.now + ms;
        let mut out = Vec::new();
        let mut next_obs = self.now;
        while self.now <= end {
            if self.now == next_obs {
                out.extend(self.see(which, bj, sh));
                next_obs += period;
            }
            let deadline = self.engine.next_deadline().map(|t| t.0).unwrap_or(u64::MAX);
            let next = next_obs.min(deadline).min(end + 1);
            if next <= self.now {
                break;
            }
            self.now = next;
            if self.now == deadline && self.now <= end {
                out.extend(self.input(Input::Tick).unwrap_or_default());
            }
        }
        self.now = end;
        out
    }

    pub(crate) fn cmd(&mut self, c: Command) -> Result<Vec<Output>, CommandError> {
        self.input(Input::Command(c))
    }

    pub(crate) fn active(&self) -> SiteId {
        self.engine.status()[0].active_site.clone()
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.engine.status()[0].epoch.0
    }
}

/// The event kinds among outputs.
pub(crate) fn kinds(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .map(|o| match o {
            Output::Commit(_) => "commit",
            Output::Event(e) => e.kind(),
        })
        .collect()
}

/// The commits among outputs.
pub(crate) fn commits(out: &[Output]) -> Vec<&Committed> {
    out.iter()
        .filter_map(|o| match o {
            Output::Commit(c) => Some(c),
            Output::Event(_) => None,
        })
        .collect()
}

/// The events among outputs.
pub(crate) fn events(out: &[Output]) -> Vec<&Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            Output::Commit(_) => None,
        })
        .collect()
}

pub(crate) fn site(s: &str) -> SiteId {
    SiteId::from(s)
}
