//! One service's decision state machine: hold-down, modes, gates, failback, operator commands.
//!
//! Kept apart: `config` (what the operator configured) and `state` (what was observed and decided).

use super::error::CommandError;
use super::evaluate::{self, SiteEval, World};
use super::event::{Event, TimeoutAction};
use super::io::{Command, Output};
use super::status::{Pending, PendingKind};
use crate::config::{self, ConfirmTimeout, Failback, Mode, SiteRole};
use crate::model::{Committed, Decision, DecisionKind, Epoch, Health, SiteId, Timestamp};
use std::collections::BTreeMap;

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
    quorum_lost: bool,
    down_reported: bool,
    /// A proposal for this down episode was rejected or timed out: do not propose again until recovery.
    episode_closed: bool,
    blocked: Option<Blocked>,
    failback_reported: bool,
    /// A failback proposal was rejected or timed out: wait until the primary's verdict changes.
    failback_closed: bool,
}

/// What was observed and decided for one service.
#[derive(Clone, Debug)]
pub struct ServiceState {
    /// The committed decision and operator state.
    pub committed: Committed,
    /// A confirm-mode switch waiting for approval.
    pub pending: Option<Pending>,
    pub(crate) tracks: BTreeMap<SiteId, Track>,
    flags: Flags,
}

/// One service: its configuration and its state.
#[derive(Clone, Debug)]
pub struct Service {
    /// As configured.
    pub config: config::Service,
    /// As observed and decided.
    pub state: ServiceState,
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
                },
                true,
            ),
        };
        let out = fresh.then(|| Output::Commit(committed.clone()));
        let svc = Service {
            config,
            state: ServiceState {
                committed,
                pending: None,
                tracks: BTreeMap::new(),
                flags: Flags::default(),
            },
        };
        (svc, out)
    }

    /// Sites that can serve this service: not arbiters, and with addresses or a VIP next hop there.
    pub(crate) fn serving<'a>(&'a self, w: &'a World<'_>) -> impl Iterator<Item = &'a SiteId> + 'a {
        w.sites.values().filter_map(move |s| {
            let serves = s.role != SiteRole::Arbiter
                && (self.config.addresses.contains_key(&s.id)
                    || self
                        .config
                        .vip
                        .as_ref()
                        .is_some_and(|v| v.next_hop.contains_key(&s.id)));
            serves.then_some(&s.id)
        })
    }

    fn active(&self) -> &SiteId {
        &self.state.committed.decision.active_site
    }

    fn eval(&self, w: &World<'_>, site: &SiteId) -> SiteEval {
        evaluate::eval_site(w, &self.config.name, site, &self.config.policy)
    }

    fn track(&self, site: &SiteId) -> Track {
        self.state.tracks.get(site).copied().unwrap_or(Track {
            verdict: Health::Unknown,
            since: Timestamp(0),
        })
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
        out.push(Output::Commit(self.state.committed.clone()));
        if from != to {
            out.push(Output::Event(Event::Switched {
                service: self.config.name.clone(),
                from,
                to,
                epoch,
                decision: kind,
                reason,
            }));
            self.state.pending = None;
            self.state.flags = Flags {
                quorum_lost: self.state.flags.quorum_lost,
                ..Flags::default()
            };
        }
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

    /// Re-evaluate at `w.now`; returns whether any tracked verdict changed (outputs go to `out`).
    pub(crate) fn evaluate(&mut self, w: &World<'_>, out: &mut Vec<Output>) -> bool {
        let name = self.config.name.clone();
        let p = self.config.policy.clone();
        let mut changed = false;

        let serving: Vec<SiteId> = self.serving(w).cloned().collect();
        for site in &serving {
            let verdict = self.eval(w, site).verdict;
            let t = self.state.tracks.entry(site.clone()).or_insert(Track {
                verdict: Health::Unknown,
                since: w.now,
            });
            if t.verdict != verdict {
                *t = Track {
                    verdict,
                    since: w.now,
                };
                changed = true;
            }
        }

        let quorum = w.tally.quorum_possible(w.now, p.quorum, p.min_domains);
        if !quorum && !self.state.flags.quorum_lost {
            self.state.flags.quorum_lost = true;
            out.push(Output::Event(Event::QuorumLost {
                service: name.clone(),
                counting: w.tally.counting(w.now).count(),
                quorum: p.quorum,
            }));
        } else if quorum && self.state.flags.quorum_lost {
            self.state.flags.quorum_lost = false;
            out.push(Output::Event(Event::QuorumRestored {
                service: name.clone(),
            }));
        }

        let active = self.active().clone();
        let at = self.track(&active);
        let active_down = at.verdict == Health::Down;
        let down_held = active_down && w.now >= at.since.add(p.hold_down);
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
            if let Some(pend) = self
                .state
                .pending
                .take_if(|p| p.kind == PendingKind::Failover)
            {
                out.push(Output::Event(Event::ProposalWithdrawn {
                    service: name.clone(),
                    to: pend.to,
                    reason: format!("{active} no longer down by quorum"),
                }));
            }
        }
        if down_held && !self.state.flags.down_reported {
            self.state.flags.down_reported = true;
            let e = self.eval(w, &active);
            out.push(Output::Event(Event::PrimaryDown {
                service: name.clone(),
                site: active.clone(),
                reason: format!("{} for {:?}", evaluate::describe(&active, &e), p.hold_down),
            }));
        }

        let primary_up = self.track(w.primary).verdict == Health::Up;
        if !primary_up || active == *w.primary {
            self.state.flags.failback_reported = false;
            self.state.flags.failback_closed = false;
            if let Some(pend) = self
                .state
                .pending
                .take_if(|p| p.kind == PendingKind::Failback)
            {
                out.push(Output::Event(Event::ProposalWithdrawn {
                    service: name.clone(),
                    to: pend.to,
                    reason: format!("{} no longer up by quorum", w.primary),
                }));
            }
        }

        if let Some(pend) = self.state.pending.take_if(|p| w.now >= p.deadline) {
            self.on_timeout(w, pend, out);
        }

        if self.state.committed.operator.maintenance {
            return changed;
        }
        if p.mode != Mode::Manual && self.state.pending.is_none() {
            if down_held && !self.state.flags.episode_closed {
                self.try_failover(w, &serving, out);
            } else if !active_down && active != *w.primary {
                self.try_failback(w, out);
            }
        }
        self.failback_available(w, out);
        changed
    }

    /// What a confirm-mode timeout does: abort or proceed, never silently.
    fn on_timeout(&mut self, w: &World<'_>, pend: Pending, out: &mut Vec<Output>) {
        match pend.kind {
            PendingKind::Failover => self.state.flags.episode_closed = true,
            PendingKind::Failback => self.state.flags.failback_closed = true,
        }
        let service = self.config.name.clone();
        let action = match self.config.policy.on_confirm_timeout {
            ConfirmTimeout::Abort => TimeoutAction::Aborted,
            ConfirmTimeout::Proceed => match self.ready(w, &pend.to) {
                Ok(_) => TimeoutAction::Proceeded,
                Err(_) => TimeoutAction::ProceedBlocked,
            },
        };
        out.push(Output::Event(Event::ConfirmTimedOut {
            service,
            to: pend.to.clone(),
            action,
        }));
        if action == TimeoutAction::Proceeded {
            let reason = format!(
                "{}; not approved within confirm_timeout: proceeded",
                pend.reason
            );
            match pend.kind {
                PendingKind::Failover => {
                    self.switch_from_failed(w, pend.to, DecisionKind::Confirmed, reason, out)
                }
                PendingKind::Failback => {
                    self.commit(w, pend.to, DecisionKind::Confirmed, reason, out)
                }
            }
        }
    }

    /// The active site has been down for `hold_down`: switch to (or propose) the best ready site.
    fn try_failover(&mut self, w: &World<'_>, serving: &[SiteId], out: &mut Vec<Output>) {
        let p = self.config.policy.clone();
        let active = self.active().clone();
        let mut candidates: Vec<&SiteId> = serving
            .iter()
            .filter(|s| **s != active && !self.state.committed.operator.held_out.contains(*s))
            .collect();
        // Backups first, then the primary (when a backup is active and fails), then by id.
        candidates.sort_by_key(|s| (w.sites.get(*s).map(|x| x.role != SiteRole::Backup), *s));
        let mut gate_blocked: Option<(SiteId, String)> = None;
        let mut not_up = Vec::new();
        let mut target = None;
        for c in candidates {
            match self.ready(w, c) {
                Ok(text) => {
                    target = Some((c.clone(), text));
                    break;
                }
                Err(text) => {
                    if self.track(c).verdict == Health::Up {
                        gate_blocked.get_or_insert((c.clone(), text));
                    } else {
                        not_up.push(text);
                    }
                }
            }
        }
        let name = self.config.name.clone();
        let down_text = evaluate::describe(&active, &self.eval(w, &active));
        match target {
            Some((to, to_text)) => {
                let reason = format!("failover: {down_text} for {:?}; {to_text}", p.hold_down);
                match p.mode {
                    Mode::Auto => {
                        self.switch_from_failed(w, to, DecisionKind::Failover, reason, out)
                    }
                    Mode::Confirm => self.propose(w, to, PendingKind::Failover, reason, out),
                    Mode::Manual => {}
                }
            }
            None => {
                if let Some((site, text)) = gate_blocked {
                    let b = Blocked::Gates(site.clone());
                    if self.state.flags.blocked.as_ref() != Some(&b) {
                        self.state.flags.blocked = Some(b);
                        out.push(Output::Event(Event::GateBlocked {
                            service: name,
                            site,
                            reason: text,
                        }));
                    }
                } else if self.state.flags.blocked != Some(Blocked::NoTarget) {
                    self.state.flags.blocked = Some(Blocked::NoTarget);
                    let mut reason = down_text;
                    for t in not_up {
                        reason.push_str("; ");
                        reason.push_str(&t);
                    }
                    out.push(Output::Event(Event::SwitchRefusedTargetDown {
                        service: name,
                        from: active,
                        reason,
                    }));
                }
            }
        }
    }

    /// Automatic failback after the primary has been up for `failback_hold` (and as long since the switch).
    fn try_failback(&mut self, w: &World<'_>, out: &mut Vec<Output>) {
        let p = self.config.policy.clone();
        let primary = w.primary.clone();
        let d = &self.state.committed.decision;
        // An operator's switch persists: only automatic or confirmed failovers return automatically.
        let automatic = matches!(d.kind, DecisionKind::Failover | DecisionKind::Confirmed);
        let pt = self.track(&primary);
        if p.failback != Failback::Auto
            || !automatic
            || self.state.flags.failback_closed
            || self.state.committed.operator.held_out.contains(&primary)
            || pt.verdict != Health::Up
            || w.now < pt.since.add(p.failback_hold)
            || w.now < d.at.add(p.failback_hold)
        {
            return;
        }
        match self.ready(w, &primary) {
            Ok(text) => {
                let reason = format!("failback: {text} for {:?}", p.failback_hold);
                match p.mode {
                    Mode::Auto => self.commit(w, primary, DecisionKind::Failback, reason, out),
                    Mode::Confirm => self.propose(w, primary, PendingKind::Failback, reason, out),
                    Mode::Manual => {}
                }
            }
            Err(text) => {
                let b = Blocked::Gates(primary.clone());
                if self.state.flags.blocked.as_ref() != Some(&b) {
                    self.state.flags.blocked = Some(b);
                    out.push(Output::Event(Event::GateBlocked {
                        service: self.config.name.clone(),
                        site: primary,
                        reason: text,
                    }));
                }
            }
        }
    }

    /// Manual failback (or manual mode): tell operators once that the primary is back for `failback_hold`.
    fn failback_available(&mut self, w: &World<'_>, out: &mut Vec<Output>) {
        let p = &self.config.policy;
        let manual = p.failback == Failback::Manual
            || p.mode == Mode::Manual
            || !matches!(
                self.state.committed.decision.kind,
                DecisionKind::Failover | DecisionKind::Confirmed
            );
        let pt = self.track(w.primary);
        if manual
            && !self.state.flags.failback_reported
            && self.active() != w.primary
            && pt.verdict == Health::Up
            && w.now >= pt.since.add(p.failback_hold)
        {
            self.state.flags.failback_reported = true;
            out.push(Output::Event(Event::FailbackAvailable {
                service: self.config.name.clone(),
                site: w.primary.clone(),
            }));
        }
    }

    /// Confirm mode: raise a pending switch and page.
    fn propose(
        &mut self,
        w: &World<'_>,
        to: SiteId,
        kind: PendingKind,
        reason: String,
        out: &mut Vec<Output>,
    ) {
        let deadline = w.now.add(self.config.policy.confirm_timeout);
        out.push(Output::Event(Event::SwitchProposed {
            service: self.config.name.clone(),
            from: self.active().clone(),
            to: to.clone(),
            deadline,
            reason: reason.clone(),
        }));
        self.state.pending = Some(Pending {
            to,
            kind,
            since: w.now,
            deadline,
            reason,
        });
    }

    /// Apply an operator command (validated first: on error nothing changes), then re-evaluate.
    pub(crate) fn command(
        &mut self,
        w: &World<'_>,
        cmd: Command,
        out: &mut Vec<Output>,
    ) -> Result<(), CommandError> {
        let service = self.config.name.clone();
        match cmd {
            Command::Switch {
                to,
                reason,
                by,
                force,
                ..
            } => {
                self.check_site(w, &to)?;
                if *self.active() == to {
                    return Err(CommandError::AlreadyActive { service, site: to });
                }
                let state = match self.ready(w, &to) {
                    Ok(text) => text,
                    Err(text) if force => format!("forced; {text}"),
                    Err(text) => {
                        return Err(CommandError::TargetNotUp {
                            service,
                            site: to,
                            detail: format!(": {text}"),
                        });
                    }
                };
                self.state.committed.operator.held_out.remove(&to);
                let reason = format!("operator {by}: {reason}; {state}");
                self.commit(w, to, DecisionKind::Operator, reason, out);
            }
            Command::Approve { by, .. } => {
                let Some(pend) = self.state.pending.clone() else {
                    return Err(CommandError::NothingPending { service });
                };
                if let Err(text) = self.ready(w, &pend.to) {
                    return Err(CommandError::TargetNotUp {
                        service,
                        site: pend.to,
                        detail: format!(": {text}"),
                    });
                }
                let reason = format!("{}; approved by {by}", pend.reason);
                match pend.kind {
                    PendingKind::Failover => {
                        self.switch_from_failed(w, pend.to, DecisionKind::Confirmed, reason, out)
                    }
                    PendingKind::Failback => {
                        self.commit(w, pend.to, DecisionKind::Confirmed, reason, out)
                    }
                }
            }
            Command::Reject { by, .. } => {
                let Some(pend) = self.state.pending.take() else {
                    return Err(CommandError::NothingPending { service });
                };
                match pend.kind {
                    PendingKind::Failover => self.state.flags.episode_closed = true,
                    PendingKind::Failback => self.state.flags.failback_closed = true,
                }
                out.push(Output::Event(Event::ProposalRejected {
                    service,
                    to: pend.to,
                    by,
                }));
            }
            Command::Maintenance { on, by, .. } => {
                if self.state.committed.operator.maintenance == on {
                    return Ok(());
                }
                if on && let Some(pend) = self.state.pending.take() {
                    out.push(Output::Event(Event::ProposalWithdrawn {
                        service: service.clone(),
                        to: pend.to,
                        reason: format!("maintenance on by {by}"),
                    }));
                }
                self.state.committed.operator.maintenance = on;
                let active = self.active().clone();
                let word = if on { "on" } else { "off" };
                let kind = self.state.committed.decision.kind;
                let reason = format!("maintenance {word} by {by}; {active} stays active");
                self.commit(w, active, kind, reason, out);
                out.push(Output::Event(Event::MaintenanceChanged { service, on, by }));
            }
            Command::Readmit { site, by, .. } => {
                self.check_site(w, &site)?;
                if !self.state.committed.operator.held_out.remove(&site) {
                    return Ok(());
                }
                let active = self.active().clone();
                let kind = self.state.committed.decision.kind;
                let reason = format!("{site} re-admitted by {by}; {active} stays active");
                self.commit(w, active, kind, reason, out);
                out.push(Output::Event(Event::Readmitted { service, site, by }));
            }
        }
        self.evaluate(w, out);
        Ok(())
    }

    fn check_site(&self, w: &World<'_>, site: &SiteId) -> Result<(), CommandError> {
        let service = self.config.name.clone();
        if !w.sites.contains_key(site) {
            return Err(CommandError::UnknownSite {
                service,
                site: site.clone(),
            });
        }
        if !self.serving(w).any(|s| s == site) {
            return Err(CommandError::NotServing {
                service,
                site: site.clone(),
            });
        }
        Ok(())
    }

    /// The next instant at which this service's rules may act without new input.
    pub(crate) fn next_deadline(&self, w: &World<'_>) -> Option<Timestamp> {
        let p = &self.config.policy;
        let mut ds = Vec::with_capacity(4);
        let at = self.track(self.active());
        if at.verdict == Health::Down {
            ds.push(at.since.add(p.hold_down));
        }
        if let Some(pend) = &self.state.pending {
            ds.push(pend.deadline);
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
