//! `exec` safety: no shell interpolation of config values, capped output, and the whole
//! process group killed on timeout.

use crate::probe_support::{config, probes};
use std::time::Duration;
use switchback::model::Health;
use switchback::probe;

async fn once(dir: &tempfile::TempDir, command: &str, timeout: &str) -> probe::OnceRow {
    let text = format!(
        "[[check]]\nname = \"x\"\nsite = \"sh\"\nlayer = \"app\"\nkind = \"exec\"\ncommand = {command}\ntarget = \"10.2.0.10\"\ninterval = \"10s\"\ntimeout = \"{timeout}\"\n"
    );
    let (path, file) = probes(dir.path(), "crm.toml", &text);
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    let mut r = probe::run_once(&cfg, vec![file]).await.expect("once");
    r.rows.remove(0)
}

#[tokio::test]
async fn config_values_are_never_interpreted_by_a_shell() {
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("pwned");
    let cmd = format!(
        "[\"echo\", \"$(touch {m}); `touch {m}`; echo hi\"]",
        m = marker.display()
    );
    let row = once(&dir, &cmd, "2s").await;
    assert_eq!(row.state, Health::Up);
    assert!(
        row.detail.starts_with("$(touch"),
        "printed literally: {}",
        row.detail
    );
    assert!(!marker.exists(), "no shell ran the config value");
}

#[tokio::test]
async fn environment_names_site_and_target_and_first_line_is_the_detail() {
    let dir = tempfile::tempdir().expect("tmp");
    let cmd = "[\"sh\", \"-c\", \"echo $SWITCHBACK_CHECK@$SWITCHBACK_SITE:$SWITCHBACK_TARGET; echo second; exit 3\"]";
    let row = once(&dir, cmd, "2s").await;
    assert_eq!(row.state, Health::Down);
    assert!(row.detail.contains("x@sh:10.2.0.10"), "{}", row.detail);
    assert!(row.detail.contains("exit status: 3"), "{}", row.detail);
    assert!(!row.detail.contains("second"), "{}", row.detail);
}

#[tokio::test]
async fn huge_output_is_capped_and_does_not_block_the_script() {
    let dir = tempfile::tempdir().expect("tmp");
    let cmd = "[\"sh\", \"-c\", \"head -c 20000000 /dev/zero | tr '\\\\0' y; echo; echo done\"]";
    let row = once(&dir, cmd, "8s").await;
    assert_eq!(row.state, Health::Up, "{}", row.detail);
    assert!(
        row.detail.len() <= 4096,
        "detail capped, got {} bytes",
        row.detail.len()
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tmp");
    let pidfile = dir.path().join("grandchild.pid");
    let cmd = format!(
        "[\"sh\", \"-c\", \"sleep 60 & echo $! > {p}; sleep 60\"]",
        p = pidfile.display()
    );
    let row = once(&dir, &cmd, "500ms").await;
    assert_eq!(row.state, Health::Down);
    assert!(row.detail.contains("timed out"), "{}", row.detail);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the script wrote its background child's pid")
        .trim()
        .parse()
        .expect("pid");
    // SIGKILL is delivered synchronously; the child is gone or a zombie awaiting its reaper.
    let mut alive = true;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        if stat.is_empty() || state == Some("Z") || state == Some("X") {
            alive = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive, "background child {pid} survived the timeout");
}
