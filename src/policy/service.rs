//! One service's decision state machine: hold-down, modes, gates, failback, operator commands.
//!
//! Kept apart: `config` (what the operator configured) and `state` (what was observed and decided).

mod commands;
mod switching;

use super::damping;
use super::evaluate::{self, SiteEval, World};
use super::event::Event;
use super::io::Output;
use super::status::PendingKind;
use crate::config::{self, Mode};
use crate::model::{Committed, Decision, DecisionKind, Epoch, Health, SiteId, Timestamp};

/// A verdict and since when it has held (as evaluated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Track {
    pub(crate) verdict: Health,
    pub(crate) since: Timestamp,
}

/// Why the last automatic switch attempt was blocked (events fire once per change).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Blocked {
    NoTarget,
    Gates(SiteId),
}

/// Edge-trigger memory so each event fires once per episode.
#[derive(Clone, Debug, Default)]
struct Flags {
    /// A quorum was possible at some point since start (before that, loss is reported after a grace).
    quorum_seen: bool,
    quorum_lost: bool,
    down_reported: bool,
    /// A proposal for this down episode was rejected or timed out: do not propose again until recovery.
    episode_closed: bool,
    blocked: Option<Blocked>,
    failback_reported: bool,
    /// A failback proposal was rejected or timed out: wait until the primary's verdict changes.
    failback_closed: bool,
}

/// Whether the last evaluation saw the service suppressed by flap damping (edge memory for
/// `FlappingEnded`; kept apart from `Flags`, which a switch resets).
#[derive(Clone, Copy, Debug, Default)]
struct FlapSeen(bool);

/// What was observed and decided for one service.
#[derive(Clone, Debug)]
pub struct ServiceState {
    /// The committed decision, operator state and pending (confirm-mode) proposal.
    pub committed: Committed,
    /// Per serving site (same order as `Service::serving`): its verdict and since when.
    pub(crate) tracks: Vec<Option<Track>>,
    flags: Flags,
    flap_seen: FlapSeen,
    /// When this state machine started (probes get `stale_after` to report before quorum loss pages).
    started: Timestamp,
}

/// One service: its configuration and its state.
#[derive(Clone, Debug)]
pub struct Service {
    /// As configured.
    pub config: config::Service,
    /// As observed and decided.
    pub state: ServiceState,
    /// Sites that can serve it (fixed by the config; computed once).
    serving: Vec<SiteId>,
}

impl Service {
    /// Resume a committed decision exactly, or start with an Initial decision for the primary.
    pub(crate) fn new(
        config: config::Service,
        committed: Option<Committed>,
        w: &World<'_>,
    ) -> (Service, Option<Output>) {
        let (committed, fresh) = match committed {
            Some(c) => (c, false),
            None => (
                Committed {
                    decision: Decision {
                        service: config.name.clone(),
                        active_site: w.primary.clone(),
                        epoch: Epoch(1),
                        kind: DecisionKind::Initial,
                        reason: format!("initial: {} is the primary", w.primary),
                        at: w.now,
                    },
                    operator: Default::default(),
                    damping: Default::default(),
                    pending: None,
                },
                true,
            ),
        };
        let out = fresh.then(|| Output::Commit(committed.clone()));
        let serving = config.serving_sites(w.sites);
        let mut svc = Service {
            serving,
            config,
            state: ServiceState {
                committed,
                tracks: Vec::new(),
                flags: Flags::default(),
                flap_seen: FlapSeen::default(),
                started: w.now,
            },
        };
        svc.state.tracks = vec![None; svc.serving.len()];
        (svc, out)
    }

    /// Sites that can serve this service: not arbiters, and with addresses or a VIP next hop there.
    pub(crate) fn serving(&self) -> &[SiteId] {
        &self.serving
    }

    fn active(&self) -> &SiteId {
        &self.state.committed.decision.active_site
    }

    fn eval(&self, w: &World<'_>, site: &SiteId) -> SiteEval {
        evaluate::eval_site(w, &self.config.name, site, &self.config.policy)
    }

    /// A serving site's verdict and since when (Unknown for sites that do not serve).
    pub(crate) fn track(&self, site: &SiteId) -> Track {
        self.serving
            .iter()
            .position(|s| s == site)
            .and_then(|i| self.state.tracks.get(i).copied().flatten())
            .unwrap_or(Track {
                verdict: Health::Unknown,
                since: Timestamp(0),
            })
    }

    /// When the active site's hold-down started: when it was first seen down, or when it became
    /// active if later (an operator's forced switch to a down site gets a full hold-down before
    /// automatic failover overrules it).
    fn down_since(&self, active: Track) -> Timestamp {
        active.since.max(self.state.committed.decision.at)
    }

    /// Whether `site` may be switched to now: up by quorum and every gate up. `Err` says why not.
    fn ready(&self, w: &World<'_>, site: &SiteId) -> Result<String, String> {
        let e = self.eval(w, site);
        let p = &self.config.policy;
        let text = evaluate::describe(site, &e);
        let gates = evaluate::describe_gates(w, site, p);
        let both = if gates.is_empty() {
            text
        } else {
            format!("{text}; {gates}")
        };
        if e.verdict == Health::Up && evaluate::gates_ok(w, site, p) {
            Ok(both)
        } else {
            Err(both)
        }
    }

    /// Commit a new decision (switch or operator-state change) with the next epoch.
    fn commit(
        &mut self,
        w: &World<'_>,
        to: SiteId,
        kind: DecisionKind,
        reason: String,
        out: &mut Vec<Output>,
    ) {
        let from = self.active().clone();
        let epoch = self.state.committed.decision.epoch.next();
        self.state.committed.decision = Decision {
            service: self.config.name.clone(),
            active_site: to.clone(),
            epoch,
            kind,
            reason: reason.clone(),
            at: w.now,
        };
        let automatic = matches!(
            kind,
            DecisionKind::Failover | DecisionKind::Failback | DecisionKind::Confirmed
        );
        let d = self.config.policy.damping;
        let flapping = from != to
            && automatic
            && damping::record_switch(&d, &mut self.state.committed.damping, w.now);
        if from != to {
            // A switch settles any proposal; the record committed with it holds none.
            self.state.committed.pending = None;
        }
        out.push(Output::Commit(self.state.committed.clone()));
        if flapping {
            self.state.flap_seen = FlapSeen(true);
            let s = &self.state.committed.damping;
            out.push(Output::Event(Event::Flapping {
                service: self.config.name.clone(),
                penalty: s.penalty,
                until: damping::reuse_at(&d, s, w.now).unwrap_or(w.now),
            }));
        }
        if from != to {
            out.push(Output::Event(Event::Switched {
                service: self.config.name.clone(),
                from,
                to,
                epoch,
                decision: kind,
                reason,
            }));
            self.state.flags = Flags {
                quorum_seen: self.state.flags.quorum_seen,
                quorum_lost: self.state.flags.quorum_lost,
                ..Flags::default()
            };
        }
    }

    /// Persist a change of operator state: the same decision under the next epoch.
    fn commit_operator_state(&mut self, out: &mut Vec<Output>) {
        let d = &mut self.state.committed.decision;
        d.epoch = d.epoch.next();
        out.push(Output::Commit(self.state.committed.clone()));
    }

    /// An automatic (or confirmed) switch away from a failed site; may hold the failed site out.
    fn switch_from_failed(
        &mut self,
        w: &World<'_>,
        to: SiteId,
        kind: DecisionKind,
        reason: String,
        out: &mut Vec<Output>,
    ) {
        let failed = self.active().clone();
        let mut reason = reason;
        let hold = self.config.policy.hold_out_recovered && failed != to;
        if hold {
            self.state
                .committed
                .operator
                .held_out
                .insert(failed.clone());
            reason.push_str(&format!("; {failed} held out until re-admitted"));
        }
        self.commit(w, to, kind, reason, out);
        if hold {
            out.push(Output::Event(Event::HeldOut {
                service: self.config.name.clone(),
                site: failed,
            }));
        }
    }

    /// Drops a pending proposal of `kind`, if any, saying why.
    fn withdraw(
        &mut self,
        kind: PendingKind,
        reason: impl FnOnce() -> String,
        out: &mut Vec<Output>,
    ) {
        if let Some(pend) = self.state.committed.pending.take_if(|p| p.kind == kind) {
            out.push(Output::Event(Event::ProposalWithdrawn {
                service: self.config.name.clone(),
                to: pend.to,
                reason: reason(),
            }));
        }
    }

    /// Re-evaluate at `w.now`; returns whether any tracked verdict changed (outputs go to `out`).
    pub(crate) fn evaluate(&mut self, w: &World<'_>, out: &mut Vec<Output>) -> bool {
        let name = &self.config.name;
        let p = &self.config.policy;
        let mut changed = false;

        for (site, t) in self.serving.iter().zip(self.state.tracks.iter_mut()) {
            let verdict = evaluate::verdict(w, name, site, p);
            if t.is_none_or(|t| t.verdict != verdict) {
                *t = Some(Track {
                    verdict,
                    since: w.now,
                });
                changed = true;
            }
        }
        let name = name.clone();
        let (quorum, min_domains, hold_down, mode) = (p.quorum, p.min_domains, p.hold_down, p.mode);

        let quorum_ok = w.tally.quorum_possible(w.now, quorum, min_domains);
        let f = &mut self.state.flags;
        if quorum_ok {
            f.quorum_seen = true;
            if f.quorum_lost {
                f.quorum_lost = false;
                out.push(Output::Event(Event::QuorumRestored {
                    service: name.clone(),
                }));
            }
        } else if !f.quorum_lost
            && (f.quorum_seen || w.now >= self.state.started.add(w.tally.stale_after()))
        {
            f.quorum_lost = true;
            out.push(Output::Event(Event::QuorumLost {
                service: name.clone(),
                counting: w.tally.counting(w.now).count(),
                quorum,
            }));
        }

        let active = self.active().clone();
        let at = self.track(&active);
        let active_down = at.verdict == Health::Down;
        let down_held = active_down && w.now >= self.down_since(at).add(hold_down);
        if !active_down {
            if self.state.flags.down_reported {
                out.push(Output::Event(Event::ActiveRecovered {
                    service: name.clone(),
                    site: active.clone(),
                }));
            }
            self.state.flags.down_reported = false;
            self.state.flags.episode_closed = false;
            self.state.flags.blocked = None;
            if !self.settling(w, &active) {
                self.withdraw(
                    PendingKind::Failover,
                    || format!("{active} no longer down by quorum"),
                    out,
                );
            }
        }
        if down_held && !self.state.flags.down_reported {
            self.state.flags.down_reported = true;
            let e = self.eval(w, &active);
            out.push(Output::Event(Event::PrimaryDown {
                service: name.clone(),
                site: active.clone(),
                reason: format!("{} for {:?}", evaluate::describe(&active, &e), hold_down),
            }));
        }

        let primary_up = self.track(w.primary).verdict == Health::Up;
        if !primary_up || active == *w.primary {
            self.state.flags.failback_reported = false;
            self.state.flags.failback_closed = false;
            if active == *w.primary || !self.settling(w, w.primary) {
                self.withdraw(
                    PendingKind::Failback,
                    || format!("{} no longer up by quorum", w.primary),
                    out,
                );
            }
        }

        let due = self.state.committed.pending.as_ref().is_some_and(|p| {
            w.now >= p.deadline && !self.settling(w, &active) && !self.settling(w, &p.to)
        });
        if let Some(pend) = self.state.committed.pending.take_if(|_| due) {
            self.on_timeout(w, pend, out);
            if *self.active() != active {
                // It proceeded: the new active site is judged from the next evaluation on.
                return changed;
            }
        }

        let flapping = self.flapping(w.now);
        if self.state.flap_seen.0 && !flapping {
            out.push(Output::Event(Event::FlappingEnded {
                service: name.clone(),
            }));
        }
        self.state.flap_seen = FlapSeen(flapping);
        if self.state.committed.operator.maintenance {
            return changed;
        }
        if mode != Mode::Manual && self.state.committed.pending.is_none() && !flapping {
            if down_held && !self.state.flags.episode_closed {
                self.try_failover(w, out);
            } else if !active_down && active != *w.primary {
                self.try_failback(w, out);
            }
        }
        self.failback_available(w, out);
        changed
    }

    /// Whether `site` is not judged yet after this state machine started (Unknown, within
    /// `stale_after` of the start): a proposal resumed from the store is neither withdrawn
    /// nor timed out on such a verdict, since probes have not had time to report.
    fn settling(&self, w: &World<'_>, site: &SiteId) -> bool {
        self.track(site).verdict == Health::Unknown
            && w.now < self.state.started.add(w.tally.stale_after())
    }

    /// Flap damping suppresses automatic switches of this service at `now`.
    pub(crate) fn flapping(&self, now: Timestamp) -> bool {
        damping::suppressed(
            &self.config.policy.damping,
            &self.state.committed.damping,
            now,
        )
    }

    /// The next instant at which this service's rules may act without new input.
    pub(crate) fn next_deadline(&self, w: &World<'_>) -> Option<Timestamp> {
        let p = &self.config.policy;
        let mut ds = Vec::with_capacity(4);
        if !self.state.flags.quorum_seen && !self.state.flags.quorum_lost {
            ds.push(self.state.started.add(w.tally.stale_after()));
        }
        let at = self.track(self.active());
        if at.verdict == Health::Down {
            ds.push(self.down_since(at).add(p.hold_down));
        }
        if let Some(pend) = &self.state.committed.pending {
            ds.push(pend.deadline);
            ds.push(self.state.started.add(w.tally.stale_after()));
        }
        if let Some(t) = damping::reuse_at(&p.damping, &self.state.committed.damping, w.now) {
            ds.push(t);
        }
        let pt = self.track(w.primary);
        if pt.verdict == Health::Up && self.active() != w.primary {
            ds.push(
                pt.since
                    .add(p.failback_hold)
                    .max(self.state.committed.decision.at.add(p.failback_hold)),
            );
        }
        ds.into_iter().filter(|d| *d > w.now).min()
    }
}
