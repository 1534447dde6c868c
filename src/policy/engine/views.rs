//! Read-only views of the engine: status for the admin API and DNS enactor, votes.

use super::Engine;
use crate::config;
use crate::model::Health;
use crate::policy::evaluate::{self, World};
use crate::policy::service::Service;
use crate::policy::status::{LayerVotes, NodeVote, ServiceStatus, SiteStatus, VotesView};
use crate::tally::{Count, VoteState};
use std::collections::BTreeMap;

impl Engine {
    fn world(&self) -> World<'_> {
        World {
            tally: &self.tally,
            now: self.now,
            sites: &self.sites,
            primary: &self.primary,
        }
    }

    /// Every service's state as of the last input, for the admin API and the DNS enactor.
    pub fn status(&self) -> Vec<ServiceStatus> {
        let w = self.world();
        self.services
            .iter()
            .map(|s| service_status(&w, s))
            .collect()
    }

    /// Every voter's standing as of the last input.
    pub fn votes(&self) -> VotesView {
        let now = self.now;
        let mut nodes = Vec::new();
        let mut silent = Vec::new();
        for (id, domain, latest) in self.tally.voters() {
            match latest {
                None => silent.push(id.clone()),
                Some(o) => nodes.push(NodeVote {
                    node: id.clone(),
                    domain: domain.clone(),
                    seq: o.seq,
                    at: o.at,
                    age_ms: now.since(o.at).as_millis() as u64,
                    state: self.tally.state_of(o, now),
                    self_detail: o.self_detail.clone(),
                    sites: o.sites.clone(),
                }),
            }
        }
        VotesView {
            at: now,
            nodes,
            silent,
        }
    }

    /// Convenience for callers that only track how many votes count now.
    pub fn counting(&self) -> usize {
        self.tally
            .voters()
            .filter(|(_, _, o)| {
                o.is_some_and(|o| self.tally.state_of(o, self.now) == VoteState::Counting)
            })
            .count()
    }
}

fn layer(c: &Count) -> LayerVotes {
    LayerVotes {
        up: c.up,
        down: c.down,
        unknown: c.unknown,
    }
}

fn service_status(w: &World<'_>, s: &Service) -> ServiceStatus {
    let p = &s.config.policy;
    let d = &s.state.committed.decision;
    let op = &s.state.committed.operator;
    let mut sites = BTreeMap::new();
    for site in s.serving() {
        let e = evaluate::eval_site(w, &s.config.name, site, p);
        let since = s.track(site).since;
        let layers = [("app", &e.app), ("host", &e.host), ("link", &e.link)]
            .into_iter()
            .map(|(n, c)| (n.to_owned(), layer(c)))
            .collect();
        let gates = evaluate::eval_gates(w, site, p)
            .into_iter()
            .map(|(g, _, h)| (g, h))
            .collect();
        let role = w
            .sites
            .get(site)
            .map(|x| evaluate::role_name(x.role))
            .unwrap_or("unknown");
        sites.insert(
            site.clone(),
            SiteStatus {
                role: role.to_owned(),
                verdict: e.verdict,
                since,
                up: e.combined.up,
                down: e.combined.down,
                layers,
                gates,
                held_out: op.held_out.contains(site),
            },
        );
    }
    let active_up = sites
        .get(&d.active_site)
        .is_some_and(|x| x.verdict == Health::Up);
    let all_down = !sites.is_empty() && sites.values().all(|x| x.verdict == Health::Down);
    ServiceStatus {
        service: s.config.name.clone(),
        active_site: d.active_site.clone(),
        epoch: d.epoch,
        kind: d.kind,
        mode: match p.mode {
            config::Mode::Auto => "auto",
            config::Mode::Confirm => "confirm",
            config::Mode::Manual => "manual",
        }
        .to_owned(),
        maintenance: op.maintenance,
        held_out: op.held_out.clone(),
        pending: s.state.committed.pending.clone(),
        degraded: !active_up || s.state.committed.pending.is_some() || s.flapping(w.now),
        flapping: s.flapping(w.now),
        all_down,
        quorum: w.tally.quorum_possible(w.now, p.quorum, p.min_domains),
        sites,
        reason: d.reason.clone(),
        decided_at: d.at,
    }
}
