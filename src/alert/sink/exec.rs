//! `exec`: run a program (no shell) with the event in `SWITCHBACK_*` environment variables
//! and as JSON on stdin, as keepalived runs its notify scripts; exit status 0 acknowledges.
//! A program still running at the timeout is killed.

use super::DeliveryError;
use crate::alert::event::AlertEvent;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[derive(Debug)]
pub(super) struct Exec {
    pub(super) command: Vec<String>,
    pub(super) timeout: Duration,
}

/// The environment variables the program gets.
pub(crate) fn env(e: &AlertEvent) -> Vec<(&'static str, String)> {
    let sites: Vec<&str> = e.sites.iter().map(|s| s.as_str()).collect();
    vec![
        ("SWITCHBACK_ID", e.id()),
        ("SWITCHBACK_KIND", e.kind.clone()),
        ("SWITCHBACK_EVENT", e.event.clone()),
        ("SWITCHBACK_ACTION", e.action.as_str().to_owned()),
        ("SWITCHBACK_KEY", e.key.clone()),
        ("SWITCHBACK_SEVERITY", e.severity.as_str().to_owned()),
        (
            "SWITCHBACK_SERVICE",
            e.service
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        ("SWITCHBACK_SITES", sites.join(",")),
        (
            "SWITCHBACK_EPOCH",
            e.epoch.map(|x| x.to_string()).unwrap_or_default(),
        ),
        ("SWITCHBACK_SUMMARY", e.summary.clone()),
        ("SWITCHBACK_REASON", e.reason.clone()),
        ("SWITCHBACK_NODE", e.node.to_string()),
        ("SWITCHBACK_AT", crate::alert::event::rfc3339(e.at)),
        ("SWITCHBACK_COUNT", e.count.to_string()),
    ]
}

impl Exec {
    pub(super) async fn deliver(&self, e: &AlertEvent) -> Result<(), DeliveryError> {
        let program = self.command.first().cloned().unwrap_or_default();
        let fail = |problem: String| DeliveryError::Exec {
            program: program.clone(),
            problem,
        };
        let mut child = tokio::process::Command::new(&program)
            .args(&self.command[1..])
            .envs(env(e))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| fail(format!("cannot start: {err}")))?;
        let body = serde_json::to_vec(&e.document()).unwrap_or_default();
        let run = async {
            if let Some(mut stdin) = child.stdin.take() {
                // A program that does not read stdin is fine: ignore a broken pipe.
                let _ = stdin.write_all(&body).await;
                drop(stdin);
            }
            child.wait_with_output().await
        };
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err(fail(format!(
                "still running after {}; killed",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Err(err)) => Err(fail(err.to_string())),
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => {
                let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                stderr.truncate(200);
                Err(fail(format!("{}: {stderr}", out.status)))
            }
        }
    }
}
