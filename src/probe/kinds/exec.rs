//! `exec` checks: run a program directly (never a shell), in its own process group, with the
//! site and target in its environment; exit 0 is up. Output is capped; on timeout or
//! cancellation the whole process group is killed.

use super::{Outcome, Shared};
use crate::probe::defs::{CheckDef, ExecSpec};
use crate::probe::evidence::Evidence;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;

/// Most output bytes kept per stream; the rest is read and discarded so the script never
/// blocks on a full pipe.
const OUTPUT_CAP: usize = 4096;

/// Kills the process group when dropped (timeout, shutdown, or normal end: stray children go too).
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// One run of the script.
pub(crate) async fn run(
    shared: &Shared,
    def: &CheckDef,
    spec: &ExecSpec,
    timeout: Duration,
) -> Outcome {
    let Ok(_slot) = shared.exec_slots.acquire().await else {
        return Outcome::local("exec limiter closed");
    };
    let start = Instant::now();
    let deadline = start + timeout;
    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .envs(&spec.env)
        .env("SWITCHBACK_CHECK", def.name.as_str())
        .env(
            "SWITCHBACK_SITE",
            def.site.as_ref().map_or("", |s| s.as_str()),
        )
        .env("SWITCHBACK_LAYER", def.layer.to_string())
        .env("SWITCHBACK_TARGET", spec.target.as_deref().unwrap_or(""))
        .env("SWITCHBACK_TIMEOUT_MS", timeout.as_millis().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::local(format!("cannot run {:?}: {e}", spec.command[0])),
    };
    let _group = GroupGuard(child.id().map(|id| Pid::from_raw(id as i32)));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let (out, err, status) =
            tokio::join!(read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, status)
    };
    let (out, err, status) = match tokio::time::timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => {
            return Outcome::silent(format!("timed out after {timeout:?}; process group killed"));
        }
    };
    let rtt = Some(start.elapsed());
    let first = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let detail = match first(&out) {
        s if s.is_empty() => first(&err),
        s => s,
    };
    match status {
        Ok(s) if s.success() => Outcome::pass(rtt, detail),
        Ok(s) => Outcome::fail(rtt, format!("{s}: {detail}")),
        Err(e) => Outcome::failed(Evidence::Local, rtt, format!("wait: {e}")),
    }
}

/// Reads a stream to its end, keeping the first [`OUTPUT_CAP`] bytes.
async fn read_capped(r: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut r) = r else { return kept };
    let mut buf = [0u8; 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}
