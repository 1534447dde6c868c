//! The audit log format and its replay: one JSON line per input or output, so an incident is a test.
//!
//! Lines: `{"at":<ms>,"start":{<service>:<Committed>,…}}` when an engine starts,
//! `{"at":<ms>,"input":<Input>}` and `{"at":<ms>,"output":<Output>}`. [`replay`] feeds the inputs
//! to a fresh engine (rebuilt at each `start`) and returns the outputs it produces.

use super::engine::Engine;
use super::io::{Input, Output};
use crate::config::Config;
use crate::model::{Committed, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::BufRead;

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
        }
    }

    /// The record as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether the input the engine just handled must go to the audit log (see [`Engine::audit`],
/// which also writes skipped heartbeats back in before the next audited record).
pub fn worth_auditing(engine: &Engine) -> bool {
    engine.worth_auditing()
}

/// Why a replay stopped; names the line.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The input could not be read.
    #[error("line {line}: read failed: {source}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not an audit record.
    #[error("line {line}: not an audit record: {source}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// Replay an audit log (or a scenario's input) against `cfg`; returns the outputs it produces.
///
/// Output lines in the input are ignored (they are what a comparison checks against); blank lines
/// are skipped. A refused command is part of history, not an error: it produces no output.
/// Without a leading `start` line, the engine starts empty at the first record's time.
pub fn replay(lines: impl BufRead, cfg: &Config) -> Result<Vec<AuditRecord>, ReplayError> {
    let mut engine: Option<Engine> = None;
    let mut outputs = Vec::new();
    for (i, line) in lines.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|source| ReplayError::Read {
            line: line_no,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord =
            serde_json::from_str(&line).map_err(|source| ReplayError::Parse {
                line: line_no,
                source,
            })?;
        match rec.entry {
            AuditEntry::Start(committed) => {
                let (e, out) = Engine::new(cfg, committed, rec.at);
                outputs.extend(out.into_iter().map(|o| AuditRecord::output(rec.at, o)));
                engine = Some(e);
            }
            AuditEntry::Input(input) => {
                let e = match engine.as_mut() {
                    Some(e) => e,
                    None => {
                        let (e, out) = Engine::new(cfg, BTreeMap::new(), rec.at);
                        outputs.extend(out.into_iter().map(|o| AuditRecord::output(rec.at, o)));
                        engine.insert(e)
                    }
                };
                if let Ok(out) = e.handle(input, rec.at) {
                    outputs.extend(out.into_iter().map(|o| AuditRecord::output(rec.at, o)));
                }
            }
            AuditEntry::Output(_) => {}
        }
    }
    Ok(outputs)
}
