//! Operator commands: validated first (on error nothing changes), then applied and re-evaluated.

use super::Service;
use crate::model::{DecisionKind, SiteId};
use crate::policy::error::CommandError;
use crate::policy::evaluate::World;
use crate::policy::event::Event;
use crate::policy::io::{Command, Output};
use crate::policy::status::PendingKind;

impl Service {
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
                let Some(pend) = self.state.committed.pending.clone() else {
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
                let Some(pend) = self.state.committed.pending.take() else {
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
                if on && let Some(pend) = self.state.committed.pending.take() {
                    out.push(Output::Event(Event::ProposalWithdrawn {
                        service: service.clone(),
                        to: pend.to,
                        reason: format!("maintenance on by {by}"),
                    }));
                }
                self.state.committed.operator.maintenance = on;
                self.commit_operator_state(out);
                out.push(Output::Event(Event::MaintenanceChanged { service, on, by }));
            }
            Command::Readmit { site, by, .. } => {
                self.check_site(w, &site)?;
                if !self.state.committed.operator.held_out.remove(&site) {
                    return Ok(());
                }
                self.commit_operator_state(out);
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
        if !self.serving.contains(site) {
            return Err(CommandError::NotServing {
                service,
                site: site.clone(),
            });
        }
        Ok(())
    }
}
