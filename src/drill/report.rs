//! A drill's report: what happened when, each phase's duration, the measured network-layer
//! RTO and what failed; written as JSON and Markdown under `state_dir/drills/`.

use crate::model::{ServiceId, SiteId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How a drill ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still going.
    Running,
    /// Switched, verified, held, switched back, verified.
    Passed,
    /// Something failed (see `failures`); the service was left on `from` if at all possible.
    Failed,
    /// The target degraded mid-drill: switched back to the starting site early.
    Aborted,
}

/// One phase: `switchover`, `hold`, `switchback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// When it started.
    pub started_at: Timestamp,
    /// How long it took (milliseconds).
    pub took_ms: u64,
    /// Whether it did what it should.
    pub ok: bool,
    /// What happened, in words.
    pub detail: String,
}

/// One line of the drill's own timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When.
    pub at: Timestamp,
    /// What.
    pub what: String,
}

/// The drill's report (also its live state while it runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillReport {
    /// `<service>-<start ms>`: the report's file name.
    pub id: String,
    /// The service drilled.
    pub service: ServiceId,
    /// Where it was active before (and is switched back to).
    pub from: SiteId,
    /// Where the drill switched it.
    pub to: SiteId,
    /// Who ran it.
    pub by: String,
    /// How long it held on `to` (milliseconds).
    pub hold_ms: u64,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// How it ended.
    pub outcome: Outcome,
    /// Network-layer RTO of the switchover: from the switch command to every enactor on this
    /// node having applied and verified the new site (milliseconds).
    pub rto_ms: Option<u64>,
    /// The same for the switch back.
    pub back_rto_ms: Option<u64>,
    /// The phases in order.
    pub phases: Vec<Phase>,
    /// Everything that happened, in order.
    pub timeline: Vec<Step>,
    /// What failed, in words.
    pub failures: Vec<String>,
}

impl DrillReport {
    /// Add a line to the timeline.
    pub fn step(&mut self, at: Timestamp, what: impl Into<String>) {
        let what = what.into();
        tracing::info!(drill = %self.id, "{what}");
        self.timeline.push(Step { at, what });
    }

    /// Record a failure (also on the timeline).
    pub fn fail(&mut self, at: Timestamp, what: impl Into<String>) {
        let what = what.into();
        self.step(at, format!("FAILED: {what}"));
        self.failures.push(what);
    }

    /// The report as Markdown, for people.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let ms = |v: Option<u64>| v.map_or("-".to_owned(), |v| format!("{v} ms"));
        let _ = writeln!(o, "# Drill {}\n", self.id);
        let _ = writeln!(o, "| | |\n| --- | --- |");
        let _ = writeln!(o, "| service | {} |", self.service);
        let _ = writeln!(
            o,
            "| switched | {} → {} → {} |",
            self.from, self.to, self.from
        );
        let _ = writeln!(o, "| by | {} |", self.by);
        let _ = writeln!(o, "| started | {} |", rfc3339(self.started_at));
        let _ = writeln!(
            o,
            "| finished | {} |",
            self.finished_at.map_or("-".to_owned(), rfc3339)
        );
        let _ = writeln!(o, "| outcome | **{:?}** |", self.outcome);
        let _ = writeln!(
            o,
            "| network-layer RTO (switchover) | {} |",
            ms(self.rto_ms)
        );
        let _ = writeln!(
            o,
            "| network-layer RTO (switch back) | {} |",
            ms(self.back_rto_ms)
        );
        let _ = writeln!(o, "\n## Phases\n\n| phase | started | took | ok | detail |");
        let _ = writeln!(o, "| --- | --- | --- | --- | --- |");
        for p in &self.phases {
            let _ = writeln!(
                o,
                "| {} | {} | {} ms | {} | {} |",
                p.name,
                rfc3339(p.started_at),
                p.took_ms,
                if p.ok { "yes" } else { "**no**" },
                p.detail.replace('|', "/")
            );
        }
        let _ = writeln!(o, "\n## Timeline\n");
        for s in &self.timeline {
            let _ = writeln!(o, "- {} {}", rfc3339(s.at), s.what);
        }
        let _ = writeln!(o, "\n## Failures\n");
        if self.failures.is_empty() {
            let _ = writeln!(o, "None.");
        }
        for f in &self.failures {
            let _ = writeln!(o, "- {f}");
        }
        o
    }

    /// Write `<dir>/<id>.json` and `<dir>/<id>.md`; returns the JSON file's path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let json = dir.join(format!("{}.json", self.id));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&json, text.as_bytes())?;
        write_atomic(
            &dir.join(format!("{}.md", self.id)),
            self.markdown().as_bytes(),
        )?;
        Ok(json)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// A timestamp as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(t: Timestamp) -> String {
    let st = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.0);
    humantime::format_rfc3339_millis(st).to_string()
}

/// Every report under `dir`, newest first (unreadable files are skipped with a warning).
pub fn list(dir: &Path) -> Vec<DrillReport> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<DrillReport> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let read = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
            read.map_err(|e| tracing::warn!(file = %p.display(), error = %e, "bad drill report"))
                .ok()
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_json_and_markdown_and_lists_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = DrillReport {
            id: "crm-1".into(),
            service: "crm".into(),
            from: "bj".into(),
            to: "sh".into(),
            by: "alice".into(),
            hold_ms: 1000,
            started_at: Timestamp(1),
            finished_at: Some(Timestamp(5000)),
            outcome: Outcome::Passed,
            rto_ms: Some(12),
            back_rto_ms: Some(9),
            phases: vec![],
            timeline: vec![],
            failures: vec![],
        };
        r.step(Timestamp(2), "switch to sh");
        r.write(dir.path()).expect("write");
        let md = std::fs::read_to_string(dir.path().join("crm-1.md")).expect("md");
        assert!(
            md.contains("| network-layer RTO (switchover) | 12 ms |"),
            "{md}"
        );
        assert!(md.contains("switch to sh"), "{md}");
        assert_eq!(list(dir.path()), vec![r]);
    }
}
