//! The properties checked after every engine step: S1-S4 over its outputs, L1 over the world.

use super::{Failure, Run, STALE, T0};
use crate::sim::schedule::{HEALTHY_DELAY, PERIOD};
use switchback::config::{Failback, Mode};
use switchback::model::DecisionKind;
use switchback::policy::{Event, Output, PendingKind, TimeoutAction};

/// L1 treats a probe as clean once it has been healthy this long (stale votes and late messages gone).
const CLEAN_AFTER: u64 = STALE + 1_500;

impl Run<'_> {
    pub(super) fn fail(
        &self,
        at: u64,
        property: &'static str,
        detail: String,
    ) -> Result<(), Failure> {
        Err(Failure {
            at: at - T0,
            property,
            detail,
        })
    }

    /// S1–S4 over the outputs of one step.
    pub(super) fn check(
        &mut self,
        now: u64,
        out: &[Output],
        cmd: Option<(bool, bool)>,
    ) -> Result<(), Failure> {
        let p = &self.s.params;
        for o in out {
            match o {
                Output::Commit(c) => {
                    let d = &c.decision;
                    if d.epoch.0 != self.epoch + 1 {
                        return self.fail(
                            now,
                            "S3",
                            format!("epoch {} after {}", d.epoch, self.epoch),
                        );
                    }
                    self.epoch = d.epoch.0;
                    self.committed = Some(c.clone());
                    if d.active_site == self.active {
                        continue;
                    }
                    let (to, from) = (d.active_site.clone(), self.active.clone());
                    let forced = cmd.is_some_and(|(f, _)| f);
                    let (tk, fk) = (self.oracle.index(&to), self.oracle.index(&from));
                    let ready = self.oracle.seen_up(tk, now) && self.oracle.gates_up(tk, now);
                    let held =
                        |since: Option<u64>, hold: u64| since.is_some_and(|s| s + hold <= now);
                    let approved = cmd.is_some_and(|(_, approve)| approve);
                    let violation = if !forced && !ready {
                        Some((
                            "S1",
                            format!("{:?} to {to} not seen up (and ready) by a quorum", d.kind),
                        ))
                    } else {
                        match d.kind {
                            DecisionKind::Failover
                                if !held(self.oracle.down_since[fk], p.hold_down) =>
                            {
                                Some((
                                    "S2",
                                    format!(
                                        "left {from} without a quorum seeing it down for hold_down"
                                    ),
                                ))
                            }
                            DecisionKind::Failback
                                if now < self.last_switch + p.failback_hold
                                    || !held(self.oracle.up_since[0], p.failback_hold) =>
                            {
                                Some(("S4", "failback before failback_hold".to_owned()))
                            }
                            DecisionKind::Confirmed
                                if !approved
                                    && self.proposal.as_ref().is_none_or(|(t, _)| *t != to) =>
                            {
                                Some(("S2", format!("confirmed switch to {to} without a proposal")))
                            }
                            _ => None,
                        }
                    };
                    if let Some((property, what)) = violation {
                        return self.fail(now, property, format!("{what}: {}", d.reason));
                    }
                    if d.kind == DecisionKind::Operator {
                        // An operator's switch starts a new story: S5 counts from here.
                        self.auto_at = [Vec::new(), Vec::new()];
                    }
                    if matches!(
                        d.kind,
                        DecisionKind::Failover | DecisionKind::Failback | DecisionKind::Confirmed
                    ) {
                        self.auto_switches += 1;
                        // S5: at most one automatic failover and one failback per half-life.
                        let dir = usize::from(to.as_str() == "bj");
                        let since = now.saturating_sub(p.half_life);
                        self.auto_at[dir].push(now);
                        let times = self.auto_at[dir].clone();
                        let n = times.iter().filter(|t| **t > since).count();
                        if n > 1 {
                            return self.fail(
                                now,
                                "S5",
                                format!(
                                    "{n} automatic {} within one damping half-life ({} ms): {times:?}",
                                    if dir == 1 { "failbacks" } else { "failovers" },
                                    p.half_life
                                ),
                            );
                        }
                    }
                    self.active = to;
                    self.last_switch = now;
                    self.proposal = None;
                }
                Output::Event(Event::SwitchProposed { from, to, .. }) => {
                    let kind = self.engine.status()[0].pending.as_ref().map(|p| p.kind);
                    let (tk, fk) = (self.oracle.index(to), self.oracle.index(from));
                    if !(self.oracle.seen_up(tk, now) && self.oracle.gates_up(tk, now)) {
                        return self.fail(
                            now,
                            "S1",
                            format!("proposed {to}, not seen up by a quorum"),
                        );
                    }
                    let down = self.oracle.down_since[fk].is_some_and(|s| s + p.hold_down <= now);
                    let up = self.oracle.up_since[0].is_some_and(|s| s + p.failback_hold <= now);
                    match kind {
                        Some(PendingKind::Failover) if !down => {
                            return self.fail(
                                now,
                                "S2",
                                format!("proposed leaving {from} not down for hold_down"),
                            );
                        }
                        Some(PendingKind::Failback)
                            if !up || now < self.last_switch + p.failback_hold =>
                        {
                            return self.fail(
                                now,
                                "S4",
                                "failback proposed before failback_hold".into(),
                            );
                        }
                        None => {
                            return self.fail(
                                now,
                                "S3",
                                "SwitchProposed without a pending proposal".into(),
                            );
                        }
                        _ => {}
                    }
                    self.proposal = kind.map(|k| (to.clone(), k));
                }
                Output::Event(
                    Event::ProposalWithdrawn { .. }
                    | Event::ProposalRejected { .. }
                    | Event::ConfirmTimedOut {
                        action: TimeoutAction::Aborted | TimeoutAction::ProceedBlocked,
                        ..
                    },
                ) => {
                    self.proposal = None;
                }
                Output::Event(Event::Flapping { .. }) => self.suppressed += 1,
                Output::Event(_) => {}
            }
        }
        // S4: with manual failback, no operator, and a backup nobody can see down, at most one switch.
        if self.quiet && p.failback == Failback::Manual && self.auto_switches > 1 {
            return self.fail(
                now,
                "S4",
                format!(
                    "{} automatic switches under a steady backup",
                    self.auto_switches
                ),
            );
        }
        Ok(())
    }

    /// L1: primary down, backup up, a clean quorum sees both: the switch happens in time.
    pub(super) fn l1(&mut self, now: u64) -> Result<(), Failure> {
        let p = &self.s.params;
        for pr in &mut self.probes {
            if !pr.healthy() {
                pr.last_bad = Some(now);
            }
        }
        // Bit sets over probe indexes (at most 5 probes) and domain indexes.
        let (mut healthy, mut clean, mut domains) = (0u32, 0u32, 0u32);
        for (i, pr) in self.probes.iter().enumerate() {
            if pr.healthy() {
                healthy |= 1 << i;
                domains |= 1 << (i % p.domains);
                if pr.last_bad.is_none_or(|b| b + CLEAN_AFTER <= now) {
                    clean |= 1 << i;
                }
            }
        }
        let damping = self.cfg.services[0].policy.damping;
        let (maintenance, sh_held, flapping) =
            self.committed.as_ref().map_or((false, false, false), |c| {
                (
                    c.operator.maintenance,
                    c.operator.held_out.iter().any(|s| s.as_str() == "sh"),
                    switchback::policy::damping::suppressed(
                        &damping,
                        &c.damping,
                        switchback::model::Timestamp(now),
                    ),
                )
            });
        let cond = p.mode == Mode::Auto
            && !maintenance
            && !flapping
            && !sh_held
            && self.active.as_str() == "bj"
            && !self.truth[0].app
            && self.truth[1].app
            && self.truth[1].host
            && (!p.gate || self.gate_up)
            && healthy.count_ones() as usize >= p.quorum.max(1)
            && domains.count_ones() as usize >= p.min_domains
            && self.probes.len() - (clean.count_ones() as usize) < p.quorum.max(1);
        if !cond {
            if self.window.take().is_some() && self.active.as_str() != "bj" {
                self.l1_met += 1;
            }
            return Ok(());
        }
        if self.window.is_none_or(|(_, set)| set != healthy) {
            self.window = Some((now, healthy));
        }
        let w = self.window.map_or(now, |(w, _)| w);
        if now > w + PERIOD + HEALTHY_DELAY + p.hold_down {
            return self.fail(
                now,
                "L1",
                format!("primary down and backup up since {}, no switch", w - T0),
            );
        }
        Ok(())
    }
}
