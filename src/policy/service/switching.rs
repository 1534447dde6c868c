//! Automatic switching: failover, failback, confirm-mode proposals and their timeouts.

use super::{Blocked, Service};
use crate::config::{ConfirmTimeout, Failback, Mode, SiteRole};
use crate::model::{DecisionKind, Health, SiteId};
use crate::policy::evaluate::{self, World};
use crate::policy::event::{Event, TimeoutAction};
use crate::policy::io::Output;
use crate::policy::status::{Pending, PendingKind};

impl Service {
    /// What a confirm-mode timeout does: abort or proceed, never silently.
    pub(super) fn on_timeout(&mut self, w: &World<'_>, pend: Pending, out: &mut Vec<Output>) {
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
    pub(super) fn try_failover(&mut self, w: &World<'_>, out: &mut Vec<Output>) {
        let p = self.config.policy.clone();
        let active = self.active().clone();
        let serving = self.serving.clone();
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
    pub(super) fn try_failback(&mut self, w: &World<'_>, out: &mut Vec<Output>) {
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
    pub(super) fn failback_available(&mut self, w: &World<'_>, out: &mut Vec<Output>) {
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
        self.state.committed.pending = Some(Pending {
            to,
            kind,
            since: w.now,
            deadline,
            reason,
        });
    }
}
