//! An independent, deliberately plain re-statement of what the quorum sees, for the safety checks.
//!
//! It mirrors the accepted observations (what the engine's tally got), reduced to what each says
//! about the two sites, and recomputes with its own code whether a quorum of counting probes from
//! enough domains sees a site down or up, and since when.

use crate::model::{CheckName, Health, Observation, ServiceId, SiteId};

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
    service: ServiceId,
    sites: [SiteId; 2],
    gate: Option<CheckName>,
}

impl Oracle {
    pub(crate) fn new(
        probes: usize,
        stale_after: u64,
        quorum: usize,
        min_domains: usize,
        gate: Option<CheckName>,
    ) -> Self {
        Oracle {
            stale_after,
            quorum,
            min_domains,
            latest: vec![None; probes],
            down_since: [None; 2],
            up_since: [None; 2],
            service: ServiceId::from("crm"),
            sites: [SiteId::from("bj"), SiteId::from("sh")],
            gate,
        }
    }

    /// The site index of a site id.
    pub(crate) fn index(&self, site: &SiteId) -> usize {
        usize::from(site == &self.sites[1])
    }

    /// One probe's vote about a site: app verdict when known, else down if host or link is down.
    fn says(&self, o: &Observation, site: &SiteId) -> Health {
        let app = o
            .services
            .get(&self.service)
            .and_then(|m| m.get(site))
            .copied();
        let view = o.sites.get(site);
        match app {
            Some(Health::Down) => Health::Down,
            Some(Health::Up) => Health::Up,
            _ if view.is_some_and(|v| v.host == Health::Down || v.link == Health::Down) => {
                Health::Down
            }
            _ => Health::Unknown,
        }
    }

    /// An observation the verifier accepted, from probe `probe` in domain `domain`.
    pub(crate) fn accept(&mut self, probe: usize, domain: usize, o: &Observation) {
        let gate = |s: &SiteId| match &self.gate {
            None => Health::Up,
            Some(g) => o
                .gates
                .get(s)
                .and_then(|m| m.get(g))
                .copied()
                .unwrap_or_default(),
        };
        let said = Said {
            domain,
            at: o.at.0,
            self_ok: o.self_ok,
            site: [self.says(o, &self.sites[0]), self.says(o, &self.sites[1])],
            gate: [gate(&self.sites[0]), gate(&self.sites[1])],
        };
        self.latest[probe] = Some(said);
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
