//! The decision core for every service of a config: one shared tally, one state machine per service.

mod views;

use super::audit::AuditRecord;
use super::error::CommandError;
use super::evaluate::World;
use super::event::Event;
use super::io::{Input, Output};
use super::service::Service;
use crate::config::{self, Config};
use crate::model::{Committed, NodeId, Observation, ServiceId, SiteId, Timestamp};
use crate::tally::{Recorded, Tally, VoteState};
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
    /// The earliest deadline as of the last evaluation; a heartbeat before it that changes no
    /// count needs no evaluation.
    due: Timestamp,
    /// Per node: its latest observation that was not audited, with the time it was handled.
    deferred: BTreeMap<NodeId, (Timestamp, Observation)>,
    /// What was committed when built: the audit log's start record, so a replay redoes `new`.
    started_with: BTreeMap<ServiceId, Committed>,
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
        let started_with = committed.clone();
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
        let due = Self::due(&services, &tally, &cfg.sites, &primary, now);
        let engine = Engine {
            due,
            services,
            tally,
            sites: cfg.sites.clone(),
            primary,
            now,
            audit_last: true,
            audited_at: BTreeMap::new(),
            deferred: BTreeMap::new(),
            started_with,
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
        // Whether every service is re-evaluated against the tally (commands act on one).
        let evaluate = match input {
            Input::Observation(obs) => {
                let node = obs.node.clone();
                let detail = obs.self_detail.clone();
                let at = obs.at;
                let was_counting = tally
                    .latest(&node)
                    .is_some_and(|o| tally.state_of(o, now) == VoteState::Counting);
                let recorded = tally.record(obs);
                // A heartbeat that changes no count cannot change any verdict; unless a deadline
                // is due, evaluating would change nothing either, so skip it (the hot path).
                let same_counts = match recorded {
                    Recorded::Ignored => true,
                    Recorded::Stored {
                        view_changed,
                        self_ok_changed,
                    } => was_counting && !view_changed && self_ok_changed.is_none(),
                };
                if let Recorded::Stored {
                    view_changed,
                    self_ok_changed,
                } = recorded
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
                !(same_counts && now < self.due)
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
                self.due = Self::due(services, tally, sites, primary, now);
                false
            }
            Input::Tick => true,
        };
        if evaluate {
            let w = World {
                tally,
                now,
                sites,
                primary,
            };
            for s in services.iter_mut() {
                audit |= s.evaluate(&w, &mut out);
            }
            self.due = Self::due(services, tally, sites, primary, now);
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
        // The time `handle` used (it clamps a clock that stepped back).
        let now = now.max(self.now);
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
    ///
    /// Write it (at the `now` given to [`Engine::new`]) before the outputs of `new`; a replay redoes `new`.
    pub fn start_record(&self, at: Timestamp) -> AuditRecord {
        AuditRecord::start(at, self.started_with.clone())
    }

    /// When the node must send [`Input::Tick`] next (a hold-down, timeout, failback hold or stale vote).
    ///
    /// Computed at the last evaluation; heartbeats since may have moved the true one later, so a
    /// tick here can find nothing to do (never the reverse: it is never late).
    pub fn next_deadline(&self) -> Option<Timestamp> {
        Some(self.due).filter(|t| *t != Timestamp(u64::MAX))
    }

    /// The earliest deadline after `now` (`u64::MAX` when none); heartbeats only move it later.
    fn due(
        services: &[Service],
        tally: &Tally,
        sites: &BTreeMap<SiteId, config::Site>,
        primary: &SiteId,
        now: Timestamp,
    ) -> Timestamp {
        let w = World {
            tally,
            now,
            sites,
            primary,
        };
        let svc = services.iter().filter_map(|s| s.next_deadline(&w)).min();
        let expiry = tally.next_expiry(now);
        svc.into_iter()
            .chain(expiry)
            .min()
            .unwrap_or(Timestamp(u64::MAX))
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
}
