//! [`replay`]: an audit log (or a scenario's input) through a fresh engine, so an incident is a
//! test.

use super::audit::{AuditEntry, AuditRecord};
use super::engine::Engine;
use crate::config::Config;
use std::collections::BTreeMap;
use std::io::BufRead;

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
            AuditEntry::Output(_) | AuditEntry::Recovered(_) | AuditEntry::Drill(_) => {}
        }
    }
    Ok(outputs)
}
