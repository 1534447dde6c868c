//! Golden scenarios: `tests/scenarios/<name>/input.jsonl` replayed must give `output.jsonl`.
//!
//! `config.toml` is a node config, loaded as `switchback serve` loads it; the input is the
//! audit-log format. So a real incident becomes a scenario by copying the node's config and
//! audit log into a folder. `UPDATE_GOLDEN=1 cargo test --test policy golden` rewrites the
//! expected outputs (review the diff).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use switchback::config::{self, Config};
use switchback::policy::replay;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// The scenario's `config.toml`, loaded with an empty environment so the process's own
/// `SWITCHBACK__…` variables cannot leak into a replay.
fn scenario_config(dir: &Path, name: &str) -> Result<Config, String> {
    let path = dir.join("config.toml");
    if !path.is_file() {
        return Err(format!(
            "{name}: no config.toml (copy the config of the node that wrote input.jsonl)"
        ));
    }
    config::load(&path, Some(HashMap::new())).map_err(|e| format!("{name}: {e}"))
}

fn run(dir: &Path, update: bool) -> Result<(), String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let cfg = scenario_config(dir, &name)?;
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

#[test]
fn a_scenario_without_config_toml_fails_naming_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("incident-without-config");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("input.jsonl"), "").unwrap();
    std::fs::write(dir.join("output.jsonl"), "").unwrap();
    let err = run(&dir, false).unwrap_err();
    assert!(
        err.starts_with("incident-without-config: no config.toml"),
        "{err}"
    );
}
