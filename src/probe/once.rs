//! `switchback probe --once`: every check once, printed as a table.

use super::defs::ProbeFile;
use super::kinds::Probe;
use super::{ProbeError, Prober};
use crate::config::Config;
use crate::model::{CheckName, Health, Layer, SiteId};
use futures::StreamExt;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most checks attempted at once.
const CONCURRENCY: usize = 256;

/// One check's single result.
#[derive(Clone, Debug, PartialEq)]
pub struct OnceRow {
    /// The check.
    pub check: CheckName,
    /// The site (`None` = self-check).
    pub site: Option<SiteId>,
    /// The layer.
    pub layer: Layer,
    /// Up or down from this one attempt (no rise/fall).
    pub state: Health,
    /// RTT when measured.
    pub rtt: Option<Duration>,
    /// What happened.
    pub detail: String,
}

/// The result of running every check once, in load order; `Display` prints the table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OnceReport {
    /// One row per check.
    pub rows: Vec<OnceRow>,
}

impl OnceReport {
    /// Whether every check passed.
    pub fn all_up(&self) -> bool {
        self.rows.iter().all(|r| r.state == Health::Up)
    }
}

impl fmt::Display for OnceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.check.to_string(),
                    r.site.as_ref().map_or("(self)".into(), |s| s.to_string()),
                    r.layer.to_string(),
                    r.state.to_string(),
                    r.rtt
                        .map_or("-".into(), |d| format!("{:.1}ms", d.as_secs_f64() * 1e3)),
                    r.detail.replace(['\n', '\r'], " "),
                ]
            })
            .collect();
        let head = ["CHECK", "SITE", "LAYER", "STATE", "RTT", "DETAIL"];
        let mut w = head.map(str::len);
        for row in &cells {
            for (i, c) in row.iter().enumerate().take(5) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, r: [&str; 6]| {
            writeln!(
                f,
                "{:<a$}  {:<b$}  {:<c$}  {:<d$}  {:>e$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                a = w[0],
                b = w[1],
                c = w[2],
                d = w[3],
                e = w[4]
            )
        };
        line(f, head)?;
        for row in &cells {
            line(f, [&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]])?;
        }
        Ok(())
    }
}

/// Runs every check once (no rise/fall) and returns the table.
pub async fn run_once(cfg: &Config, files: Vec<ProbeFile>) -> Result<OnceReport, ProbeError> {
    let mut prober = Prober::new(cfg, files)?;
    let stop = CancellationToken::new();
    let _stop_guard = stop.clone().drop_guard();
    prober.open(&stop).await?;
    let shared = Arc::new(prober.shared);
    let rows = futures::stream::iter(prober.checks.iter().cloned())
        .map(|def| {
            let shared = shared.clone();
            async move {
                let mut probe = Probe::new(def.clone(), shared);
                let o = probe.run().await;
                OnceRow {
                    check: def.name.clone(),
                    site: def.site.clone(),
                    layer: def.layer,
                    state: if o.ok { Health::Up } else { Health::Down },
                    rtt: o.rtt,
                    detail: o.detail,
                }
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    Ok(OnceReport { rows })
}
