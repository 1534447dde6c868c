//! Golden scenarios: `tests/scenarios/<name>/input.jsonl` replayed must give `output.jsonl`.
//!
//! The input is the audit-log format, so a real incident's log becomes a scenario by copying it.
//! `UPDATE_GOLDEN=1 cargo test --test policy golden` rewrites the expected outputs (review the diff).
//! Configs cannot be loaded from TOML here yet, so each scenario's config is built in [`config_for`].

use crate::fixture;
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchback::config::{Config, ConfirmTimeout, Failback, Mode};
use switchback::model::CheckName;
use switchback::policy::replay;

/// The config of a scenario, by name: 3 probes in 2 domains, quorum 2, hold-down 300 ms, plus overrides.
fn config_for(name: &str) -> Option<Config> {
    let mut p = fixture::policy();
    match name {
        "failover-auto"
        | "flapping-primary"
        | "target-down-refused"
        | "abstain-uplink"
        | "maintenance-restart"
        | "host-down-layers"
        | "late-observations" => {}
        "confirm-approve" => p.mode = Mode::Confirm,
        "confirm-timeout-proceed" => {
            p.mode = Mode::Confirm;
            p.confirm_timeout = Duration::from_secs(2);
            p.on_confirm_timeout = ConfirmTimeout::Proceed;
        }
        "auto-failback" => {
            p.failback = Failback::Auto;
            p.failback_hold = Duration::from_secs(2);
        }
        "manual-operator-switch" => p.mode = Mode::Manual,
        "confirm-timeout-abort" => {
            p.mode = Mode::Confirm;
            p.confirm_timeout = Duration::from_secs(2);
            p.on_confirm_timeout = ConfirmTimeout::Abort;
        }
        "gate-blocks" => p.gates = vec![CheckName::from("replication-lag")],
        "hold-out-readmit" => {
            p.failback = Failback::Auto;
            p.failback_hold = Duration::from_secs(1);
            p.hold_out_recovered = true;
        }
        _ => return None,
    }
    Some(fixture::config(&["crm"], fixture::voters(3, 2), p))
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn run(dir: &Path, update: bool) -> Result<(), String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let cfg =
        config_for(&name).ok_or_else(|| format!("{name}: no config in golden::config_for"))?;
    let input = std::fs::File::open(dir.join("input.jsonl"))
        .map_err(|e| format!("{name}/input.jsonl: {e}"))?;
    let outputs = replay(std::io::BufReader::new(input), &cfg)
        .map_err(|e| format!("{name}/input.jsonl: {e}"))?;
    let got: String = outputs.iter().map(|r| r.to_line() + "\n").collect();
    let path = dir.join("output.jsonl");
    if update {
        return std::fs::write(&path, got).map_err(|e| format!("{}: {e}", path.display()));
    }
    let want = std::fs::read_to_string(&path)
        .map_err(|e| format!("{name}/output.jsonl: {e} (UPDATE_GOLDEN=1 writes it)"))?;
    if got == want {
        return Ok(());
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    Err(format!(
        "{name}/output.jsonl differs at line {}:\n  got:  {}\n  want: {}\n(got {} lines, want {}; UPDATE_GOLDEN=1 rewrites)",
        i + 1,
        g.get(i).unwrap_or(&"<end>"),
        w.get(i).unwrap_or(&"<end>"),
        g.len(),
        w.len()
    ))
}

#[test]
fn golden_scenarios_replay_to_their_outputs() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap_or_else(|e| panic!("tests/scenarios: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 10,
        "expected the golden scenarios, found {dirs:?}"
    );
    let failures: Vec<String> = dirs.iter().filter_map(|d| run(d, update).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
