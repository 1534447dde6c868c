//! Policy: the per-service decision state machine (hold-down, modes, gates, failback). Pure.
//!
//! No clock, no I/O, no tokio: inputs are verified observations, operator commands and timer
//! ticks, each with `now`; outputs are commits and events. Timers are [`Input::Tick`]s sent at
//! [`Engine::next_deadline`], so tests inject "hold-down expired" instead of waiting for it.
//!
//! # Layout
//! - [`io`]: [`Input`], [`Command`], [`Output`].
//! - `evaluate`: per-site quorum verdicts from the tally, which layers count, reason text.
//! - [`service`]: one service's state machine, `Service { config, state }`; its `switching`
//!   (failover, failback, proposals) and `commands` (operator commands) in their own files.
//! - [`engine`]: all services over one tally; status and votes views (`engine/views.rs`).
//! - [`event`], [`status`], [`error`]: what operators see.
//! - [`audit`]: the JSONL audit format; `replay` runs one through a fresh engine ([`replay()`]).
//! - [`mod@desired`]: what enactors follow, derived from committed state only.
//!
//! Its simulator and golden-scenario runner are outside the library, on its public API:
//! `tests/policy/` (`cargo test --test policy`), scenarios in `tests/scenarios/`.
//!
//! # Rules (DESIGN.md "Decision rules")
//! - The active site is down when `quorum` counting probes from `min_domains` domains see it down
//!   (see `evaluate` for which layers count) continuously for `hold_down`.
//! - The target must be up by the same rule (and not seen down by another quorum), all its readiness
//!   gates up by quorum, and not held out. Backups are preferred, then the primary, then by id.
//! - `auto` switches, `confirm` proposes and pages and waits `confirm_timeout` (then abort or proceed,
//!   with an event either way), `manual` only reports. Maintenance freezes automatic decisions.
//! - Decide once and hold: a proposal rejected or timed out is not repeated until the active site
//!   recovers; a switch never returns automatically before `failback_hold` since the switch *and*
//!   `failback_hold` of the primary being up. An operator's switch persists (no automatic failback).
//! - `hold_out_recovered`: the site failed away from stays out of automatic choice until `readmit`.
//! - Every commit has the next epoch; operator-state changes (maintenance, readmit) are commits too,
//!   of the same decision (site, kind, reason, time) under the next epoch, so they persist across restarts.
//! - Quorum loss pages once; after a start, probes get `stale_after` to report before it does.
//! - A restart resumes the committed decision; verdict histories restart, so a hold-down restarts too.
//!   A pending proposal is part of the committed state and resumes as it was (no new hold-down);
//!   while the probes settle after a start (`stale_after`) an unknown verdict neither withdraws
//!   nor times it out.

pub mod audit;
pub mod damping;
pub mod desired;
pub mod engine;
pub mod error;
mod evaluate;
pub mod event;
pub mod io;
mod replay;
pub mod service;
pub mod status;

pub use audit::{AuditEntry, AuditRecord, DrillNote};
pub use desired::{Desired, DesiredSet, desired, serving_health};
pub use engine::Engine;
pub use error::CommandError;
pub use event::{Event, TimeoutAction};
pub use io::{Command, Input, Output};
pub use replay::{ReplayError, replay, worth_auditing};
pub use service::{Service, ServiceState};
pub use status::{
    LayerVotes, NodeVote, Pending, PendingKind, ServiceStatus, SiteStatus, VotesView,
};

#[cfg(test)]
mod tests;
