//! `switchback alert test -c FILE [--sink NAME] [--resolve]`: one test event straight through
//! every configured sink (or one), bypassing the spool, so operators see at once whether
//! their pager wiring works. The test condition's key is `test/<sink>`; `--resolve` closes it.

use crate::alert::{Sink, worker::test_event};
use crate::config::Config;
use crate::model::Timestamp;
use std::fmt::Write as _;

/// Why `alert test` failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertTestError {
    /// No sink has that name.
    #[error("no [[alert]] sink named {name:?}; configured: {known}")]
    UnknownSink {
        /// The name asked for.
        name: String,
        /// The names configured.
        known: String,
    },
    /// The config has no `[[alert]]` sinks.
    #[error("the config has no [[alert]] sinks")]
    NoSinks,
    /// A sink's secret file could not be read.
    #[error(transparent)]
    Secret(#[from] crate::alert::SecretError),
    /// Some sinks did not acknowledge; the report lists each.
    #[error("{failed} of {total} sink(s) failed:\n{report}")]
    Failed {
        /// How many failed.
        failed: usize,
        /// How many were tried.
        total: usize,
        /// One line per sink.
        report: String,
    },
}

/// Send the test event; one line per sink on success.
pub async fn alert_test(
    cfg: &Config,
    only: Option<&str>,
    resolve: bool,
) -> Result<String, AlertTestError> {
    if cfg.alerts.is_empty() {
        return Err(AlertTestError::NoSinks);
    }
    let chosen: Vec<_> = cfg
        .alerts
        .iter()
        .filter(|s| only.is_none_or(|n| n == s.name))
        .collect();
    if chosen.is_empty() {
        return Err(AlertTestError::UnknownSink {
            name: only.unwrap_or_default().to_owned(),
            known: crate::config::join(cfg.alerts.iter().map(|s| s.name.as_str())),
        });
    }
    let mut report = String::new();
    let mut failed = 0;
    for s in &chosen {
        let sink = Sink::new((*s).clone())?;
        let e = test_event(&s.name, &cfg.node.id, Timestamp::now(), resolve);
        match sink.deliver(&e).await {
            Ok(()) => {
                let _ = writeln!(
                    report,
                    "ok      {} ({}): key {} {}",
                    s.name,
                    s.kind.name(),
                    e.key,
                    e.action.as_str()
                );
            }
            Err(err) => {
                failed += 1;
                let _ = writeln!(report, "FAILED  {} ({}): {err}", s.name, s.kind.name());
            }
        }
    }
    if failed > 0 {
        return Err(AlertTestError::Failed {
            failed,
            total: chosen.len(),
            report,
        });
    }
    Ok(report)
}
