//! The decision core for every service of a config: one shared tally, one state machine per service.

use super::audit::AuditRecord;
use super::error::CommandError;
use super::evaluate::{self, World};
use super::event::Event;
use super::io::{Input, Output};
use super::service::Service;
use super::status::{LayerVotes, NodeVote, ServiceStatus, SiteStatus, VotesView};
use crate::config::{self, Config};
use crate::model::{Committed, Health, NodeId, Observation, ServiceId, SiteId, Timestamp};
use crate::tally::{Count, Recorded, Tally, VoteState};
use std::collections::BTreeMap;

/// All services' decision state machines over one tally. Pure: `now` is always a parameter.
#[derive(Clone, Debug)]
pub struct Engine {
    services: Vec<Service>,
    tally: Tally,
    sites: BTreeMap<SiteId, config::Site>,
    primary: SiteId,
    now: Timestamp,
    /// Whether the last handled input must be audited for a faithful replay.
    audit_last: bool,
    /// Per node: when its last observation went into the audit log.
    audited_at: BTreeMap<NodeId, Timestamp>,
    /// Per node: its latest observation that was not audited, with the time it was handled.
    deferred: BTreeMap<NodeId, (Timestamp, Observation)>,
}

impl Engine {
    /// Build the engine; services without a committed decision get an Initial one for the primary.
    ///
    /// Services with one resume it exactly (a restart never flips a decision).
    pub fn new(
        cfg: &Config,
        committed: BTreeMap<ServiceId, Committed>,
        now: Timestamp,
    ) -> (Engine, Vec<Output>) {
        let mut committed = committed;
        let primary = cfg
            .primary()
            .or_else(|| cfg.sites.keys().next())
            .cloned()
            .unwrap_or_else(|| SiteId::from(""));
        let tally = Tally::new(&cfg.votes.voters, cfg.votes.stale_after);
        let mut out = Vec::new();
        let mut services = Vec::with_capacity(cfg.services.len());
        {
            let w = World {
                tally: &tally,
                now,
                sites: &cfg.sites,
                primary: &primary,
            };
            for s in &cfg.services {
                let (svc, o) = Service::new(s.clone(), committed.remove(&s.name), &w);
                out.extend(o);
                services.push(svc);
            }
        }
        let engine = Engine {
            services,
            tally,
            sites: cfg.sites.clone(),
            primary,
            now,
            audit_last: true,
            audited_at: BTreeMap::new(),
            deferred: BTreeMap::new(),
        };
        (engine, out)
    }

    /// Handle one input at `now` (clamped so time never runs backwards); outputs in order.
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Result<Vec<Output>, CommandError> {
        let now = now.max(self.now);
        self.now = now;
        let mut out = Vec::new();
        let Engine {
            services,
            tally,
            sites,
            primary,
            ..
        } = self;
        let mut audit = false;
        match input {
            Input::Observation(obs) => {
                let node = obs.node.clone();
                let detail = obs.self_detail.clone();
                let at = obs.at;
                if let Recorded::Stored {
                    view_changed,
                    self_ok_changed,
                } = tally.record(obs)
                {
                    let refresh_due = self
                        .audited_at
                        .get(&node)
                        .is_none_or(|t| at.since(*t) >= tally.stale_after() / 2);
                    audit = view_changed || refresh_due;
                    match self_ok_changed {
                        Some(false) => out.push(Output::Event(Event::Abstaining { node, detail })),
                        Some(true) => out.push(Output::Event(Event::Counting { node })),
                        None => {}
                    }
                }
                let w = World {
                    tally,
                    now,
                    sites,
                    primary,
                };
                for s in services.iter_mut() {
                    audit |= s.evaluate(&w, &mut out);
                }
            }
            Input::Command(cmd) => {
                let w = World {
                    tally,
                    now,
                    sites,
                    primary,
                };
                let Some(s) = services
                    .iter_mut()
                    .find(|s| &s.config.name == cmd.service())
                else {
                    return Err(CommandError::UnknownService {
                        service: cmd.service().clone(),
                    });
                };
                s.command(&w, cmd, &mut out)?;
                audit = true;
            }
            Input::Tick => {
                let w = World {
                    tally,
                    now,
                    sites,
                    primary,
                };
                for s in services.iter_mut() {
                    audit |= s.evaluate(&w, &mut out);
                }
            }
        }
        self.audit_last = audit || !out.is_empty();
        Ok(out)
    }

    /// Whether the last handled input must go to the audit log (see [`Engine::audit`]).
    pub fn worth_auditing(&self) -> bool {
        self.audit_last
    }

    /// The audit records for the input just handled (call right after [`Engine::handle`]).
    ///
    /// Observations are frequent heartbeats: one is written only when its node's view changed, its
    /// node's last audited one is `stale_after / 2` old, or it (or anything) produced outputs or moved
    /// a verdict. Skipped observations are kept per node and written just before the next audited
    /// record, so a replay sees the same fresh votes at every point where anything happened.
    pub fn audit(&mut self, input: &Input, now: Timestamp, outputs: &[Output]) -> Vec<AuditRecord> {
        let now = now.max(Timestamp(0));
        if !self.audit_last {
            if let Input::Observation(o) = input {
                self.deferred.insert(o.node.clone(), (now, o.clone()));
            }
            return Vec::new();
        }
        let mut recs = Vec::with_capacity(outputs.len() + 1 + self.deferred.len());
        let mut deferred: Vec<(Timestamp, Observation)> =
            std::mem::take(&mut self.deferred).into_values().collect();
        if let Input::Observation(o) = input {
            deferred.retain(|(_, d)| d.node != o.node);
        }
        deferred.sort_by_key(|(t, o)| (*t, o.node.clone()));
        for (t, o) in deferred {
            self.audited_at.insert(o.node.clone(), o.at);
            recs.push(AuditRecord::input(t, Input::Observation(o)));
        }
        if let Input::Observation(o) = input {
            self.audited_at.insert(o.node.clone(), o.at);
        }
        recs.push(AuditRecord::input(now, input.clone()));
        recs.extend(outputs.iter().cloned().map(|o| AuditRecord::output(now, o)));
        recs
    }

    /// The record that starts an audit log: what was committed when this engine was built.
    pub fn start_record(&self) -> AuditRecord {
        AuditRecord::start(
            self.now,
            self.services
                .iter()
                .map(|s| (s.config.name.clone(), s.state.committed.clone()))
                .collect(),
        )
    }

    /// When the node must send [`Input::Tick`] next (a hold-down, timeout, failback hold or stale vote).
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let w = self.world();
        let svc = self
            .services
            .iter()
            .filter_map(|s| s.next_deadline(&w))
            .min();
        let expiry = self.tally.next_expiry(self.now);
        svc.into_iter().chain(expiry).min()
    }

    /// The committed state of every service.
    pub fn committed(&self) -> BTreeMap<ServiceId, Committed> {
        self.services
            .iter()
            .map(|s| (s.config.name.clone(), s.state.committed.clone()))
            .collect()
    }

    /// The services' state machines (read-only).
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The tally of verified votes (read-only).
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The last `now` the engine saw.
    pub fn now(&self) -> Timestamp {
        self.now
    }

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
    for site in s.serving(w) {
        let e = evaluate::eval_site(w, &s.config.name, site, p);
        let since = s.state.tracks.get(site).map(|t| t.since).unwrap_or(w.now);
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
        pending: s.state.pending.clone(),
        degraded: !active_up || s.state.pending.is_some(),
        all_down,
        quorum: w.tally.quorum_possible(w.now, p.quorum, p.min_domains),
        sites,
        reason: d.reason.clone(),
        decided_at: d.at,
    }
}
