//! An independent, deliberately plain re-statement of what the quorum sees, for the safety checks.
//!
//! It mirrors the accepted observations (what the engine's tally got), reduced to what each says
//! about the two sites, and recomputes with its own code whether a quorum of counting probes from
//! enough domains sees a site down or up, and since when.

use switchback::model::{Health, SiteId};

/// What one accepted observation says, per site index (0 = bj, 1 = sh).
#[derive(Clone, Copy, Debug)]
struct Said {
    domain: usize,
    at: u64,
    self_ok: bool,
    site: [Health; 2],
    gate: [Health; 2],
}

/// The oracle's memory.
pub(crate) struct Oracle {
    stale_after: u64,
    quorum: usize,
    min_domains: usize,
    /// Per probe index: its latest accepted observation, reduced.
    latest: Vec<Option<Said>>,
    /// Per site index: since when a down quorum has held continuously (at evaluation points).
    pub(crate) down_since: [Option<u64>; 2],
    /// Per site index: since when an up verdict has held continuously.
    pub(crate) up_since: [Option<u64>; 2],
    sites: [SiteId; 2],
    gate: bool,
}

impl Oracle {
    pub(crate) fn new(
        probes: usize,
        stale_after: u64,
        quorum: usize,
        min_domains: usize,
        gate: bool,
    ) -> Self {
        Oracle {
            stale_after,
            quorum,
            min_domains,
            latest: vec![None; probes],
            down_since: [None; 2],
            up_since: [None; 2],
            sites: [SiteId::from("bj"), SiteId::from("sh")],
            gate,
        }
    }

    /// The site index of a site id.
    pub(crate) fn index(&self, site: &SiteId) -> usize {
        usize::from(site == &self.sites[1])
    }

    /// Forget everything, as a restarted authority does (its tally and verdict history start empty).
    pub(crate) fn reset(&mut self) {
        self.latest.iter_mut().for_each(|l| *l = None);
        self.down_since = [None; 2];
        self.up_since = [None; 2];
    }

    /// One probe's vote about a site from (app, host, link): app verdict when known, else down
    /// if host or link is down.
    fn says(view: [Health; 3]) -> Health {
        match view {
            [Health::Down, ..] => Health::Down,
            [Health::Up, ..] => Health::Up,
            [_, Health::Down, _] | [_, _, Health::Down] => Health::Down,
            _ => Health::Unknown,
        }
    }

    /// A message the verifier accepted, from probe `probe` in domain `domain`.
    pub(crate) fn accept(
        &mut self,
        probe: usize,
        domain: usize,
        at: u64,
        self_ok: bool,
        views: [[Health; 3]; 2],
        gates: [Health; 2],
    ) {
        let gate = |k: usize| if self.gate { gates[k] } else { Health::Up };
        self.latest[probe] = Some(Said {
            domain,
            at,
            self_ok,
            site: [Self::says(views[0]), Self::says(views[1])],
            gate: [gate(0), gate(1)],
        });
    }

    fn agree(&self, now: u64, f: impl Fn(&Said) -> bool) -> bool {
        let mut n = 0;
        let mut domains = 0u64;
        for s in self.latest.iter().flatten() {
            if s.self_ok && now < s.at + self.stale_after && f(s) {
                n += 1;
                domains |= 1 << s.domain;
            }
        }
        n >= self.quorum.max(1) && domains.count_ones() as usize >= self.min_domains
    }

    /// A down quorum sees site `k` down now.
    pub(crate) fn seen_down(&self, k: usize, now: u64) -> bool {
        self.agree(now, |s| s.site[k] == Health::Down)
    }

    /// An up quorum sees site `k` up now, and no down quorum contradicts it.
    pub(crate) fn seen_up(&self, k: usize, now: u64) -> bool {
        self.agree(now, |s| s.site[k] == Health::Up) && !self.seen_down(k, now)
    }

    /// The readiness gate of site `k` is up by quorum (always, without a gate).
    pub(crate) fn gates_up(&self, k: usize, now: u64) -> bool {
        self.agree(now, |s| s.gate[k] == Health::Up)
            && !self.agree(now, |s| s.gate[k] == Health::Down)
    }

    /// Re-evaluate at an engine step.
    pub(crate) fn step(&mut self, now: u64) {
        for k in 0..2 {
            let down = self.seen_down(k, now);
            let up = !down && self.agree(now, |s| s.site[k] == Health::Up);
            self.down_since[k] = if down {
                self.down_since[k].or(Some(now))
            } else {
                None
            };
            self.up_since[k] = if up {
                self.up_since[k].or(Some(now))
            } else {
                None
            };
        }
    }
}
