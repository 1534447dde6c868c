//! The audit log format and its replay: one JSON line per input or output, so an incident is a test.
//!
//! Lines: `{"at":<ms>,"start":{<service>:<Committed>,…}}` when an engine starts,
//! `{"at":<ms>,"input":<Input>}` and `{"at":<ms>,"output":<Output>}`. `replay` feeds the
//! inputs to a fresh engine (rebuilt at each `start`) and returns the outputs it produces.

use super::io::{Input, Output};
use crate::model::{Committed, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one audit line holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEntry {
    /// An engine started with this committed state (a node start or restart).
    Start(BTreeMap<ServiceId, Committed>),
    /// An input handed to the engine.
    Input(Input),
    /// An output the engine produced.
    Output(Output),
    /// At start, a committed decision newer than the last audited output for its service
    /// (the node stopped between the commit and its output record): what is served, recorded
    /// when it was recovered, so `history` always explains it.
    Recovered(Committed),
    /// A drill started or finished (not an engine input: replay skips it).
    Drill(DrillNote),
}

/// A drill's start or finish, kept in the audit log with who ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillNote {
    /// The drill's id (its report's file name).
    pub id: String,
    /// The service drilled.
    pub service: ServiceId,
    /// `started`, `passed`, `failed` or `aborted`.
    pub phase: String,
    /// Who ran it.
    pub by: String,
    /// The drill's target site and, when it ended, its outcome in words.
    pub detail: String,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The engine's `now` when it happened.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    /// An input line.
    pub fn input(at: Timestamp, input: Input) -> Self {
        AuditRecord {
            at,
            entry: AuditEntry::Input(input),
        }
    }

    /// An output line.
    pub fn output(at: Timestamp, output: Output) -> Self {
        AuditRecord {
            at,
            entry: AuditEntry::Output(output),
        }
    }

    /// A recovery line (see [`AuditEntry::Recovered`]).
    pub fn recovered(at: Timestamp, committed: Committed) -> Self {
        AuditRecord {
            at,
            entry: AuditEntry::Recovered(committed),
        }
    }

    /// A start line.
    pub fn start(at: Timestamp, committed: BTreeMap<ServiceId, Committed>) -> Self {
        AuditRecord {
            at,
            entry: AuditEntry::Start(committed),
        }
    }

    /// Whether the record is about `service`: a start that holds it, a command for it, its
    /// commit or an event about it (observations and ticks are about no one service).
    pub fn is_about(&self, service: &ServiceId) -> bool {
        match &self.entry {
            AuditEntry::Start(committed) => committed.contains_key(service),
            AuditEntry::Input(Input::Command(c)) => c.service() == service,
            AuditEntry::Input(Input::Observation(_) | Input::Tick) => false,
            AuditEntry::Output(Output::Commit(c)) => &c.decision.service == service,
            AuditEntry::Output(Output::Event(e)) => e.service() == Some(service),
            AuditEntry::Recovered(c) => &c.decision.service == service,
            AuditEntry::Drill(d) => &d.service == service,
        }
    }

    /// The record as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
