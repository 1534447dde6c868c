//! `check::check` through the public API, as `switchback check -c FILE` will call it: every
//! example config under `deploy/` passes, and problems print as `file:line: key: problem`.
//!
//! An end-to-end test of the `switchback check` binary (exit codes 0/1) belongs with the CLI;
//! the integrator adds it once the `ops` branch's CLI is merged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use switchback::check::{CheckErrors, check};
use switchback::config::{ConfigError, Origin};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example_configs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("dir entry").path();
        // Node configs only: probes files live in `probes/` folders.
        if p.is_dir() && !p.ends_with("probes") {
            example_configs(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// Needs `probes/{crm,billing,accounting,settlement}.toml` and `zones/boss.example.zone`
/// (written on the probe and dns branches) and their real parsers.
#[test]
fn every_example_config_passes_check() {
    let mut configs = Vec::new();
    example_configs(&repo().join("deploy"), &mut configs);
    assert!(configs.len() >= 4, "{configs:?}");
    for c in configs {
        match check(&c, Some(HashMap::new())) {
            Ok(summary) => println!("{summary}"),
            Err(e) => panic!("{}:\n{e}", c.display()),
        }
    }
}

/// A temp dir holding `switchback.toml` with `text` and every file it refers to.
fn tree(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("switchback.toml");
    std::fs::write(&path, text).expect("write config");
    std::fs::create_dir_all(dir.path().join("probes")).expect("mkdir");
    std::fs::write(dir.path().join("probes/crm.toml"), "").expect("write probes");
    (dir, path)
}

const CONFIG: &str = r#"[node]
id = "n1"
site = "bj"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = { bj = ["10.1.0.10"], sh = ["10.2.0.10"] }
probes = "probes/crm.toml"
policy = { quorum = 3, hold_down = "soon" }

[[service]]
name = "crm"
names = ["CRM.boss.example."]
addresses = { bj = ["10.1.0.11"], hk = ["10.4.0.11"] }
probes = "probes/missing.toml"
"#;

#[test]
fn problems_print_as_file_line_key_problem() {
    let (_dir, path) = tree(CONFIG);
    let errors = match check(&path, Some(HashMap::new())) {
        Ok(s) => panic!("expected problems, got:\n{s}"),
        Err(e) => e,
    };
    let shown = errors.to_string();
    let file = path.display().to_string();
    for want in [
        format!(
            "{file}:16: service[0].policy.quorum: quorum 3 is larger than the 1 probe(s) that can vote"
        ),
        format!("{file}:16: service[0].policy.hold_down: bad duration \"soon\""),
        format!("{file}:19: service[1].name: duplicate service name `crm` (first at service[0])"),
        format!("{file}:20: service[1].names[0]: duplicate DNS name `crm.boss.example.`"),
        format!("{file}:21: service[1].addresses.hk: unknown site `hk`"),
        format!("{file}:21: service[1].addresses: no addresses for any backup site (sh)"),
    ] {
        assert!(
            shown.lines().any(|l| l.starts_with(&want)),
            "missing {want:?} in:\n{shown}"
        );
    }
    assert_eq!(shown.lines().count(), errors.0.len(), "{shown}");
}

#[test]
fn env_overrides_are_checked_and_named() {
    let fixed = CONFIG
        .split("\n[[service]]\nname = \"crm\"\nnames = [\"CRM")
        .next()
        .expect("split");
    // A probe-only node serves no DNS, so it needs no zones (and the parser stubs suffice).
    let fixed = fixed
        .replace("policy = { quorum = 3, hold_down = \"soon\" }\n", "")
        .replace("site = \"bj\"\n", "site = \"bj\"\nroles = [\"probe\"]\n");
    let (_dir, path) = tree(&fixed);
    let ok = check(&path, Some(HashMap::new()));
    assert!(
        ok.is_ok(),
        "{}",
        ok.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let env = HashMap::from([(
        "SWITCHBACK__ADMIN__LISTEN".to_owned(),
        "localhost".to_owned(),
    )]);
    let Err(CheckErrors(errors)) = check(&path, Some(env)) else {
        panic!("a bad env override must fail the check");
    };
    assert!(
        matches!(&errors[..], [ConfigError::BadValue { at: Origin::Env { var }, key, .. }]
            if var == "SWITCHBACK__ADMIN__LISTEN" && key == "admin.listen"),
        "{}",
        CheckErrors(errors.clone())
    );
}

/// The `switchback check -c FILE` binary: exit 1 and one `file:line: key: problem` per line.
#[test]
fn binary_check_exits_1_with_located_problems() {
    let (_dir, path) = tree(CONFIG);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchback"))
        .arg("check")
        .arg("-c")
        .arg(&path)
        .env_remove("SWITCHBACK__NODE__ID")
        .output()
        .expect("run switchback");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    let file = path.display().to_string();
    assert!(
        stderr.lines().any(|l| l.starts_with(&format!(
            "{file}:19: service[1].name: duplicate service name `crm`"
        ))),
        "{stderr}"
    );
}

/// `switchback check -c deploy/examples/demo.toml`: exit 0 and the one-screen summary.
#[test]
fn binary_check_exits_0_with_a_summary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchback"))
        .arg("check")
        .arg("-c")
        .arg(repo().join("deploy/examples/demo.toml"))
        .output()
        .expect("run switchback");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("demo.toml: OK"), "{stdout}");
    assert!(stdout.lines().count() <= 24, "{stdout}");
}

/// `switchback check` on the three-site example: exit 0, and one `warning:` line for each part
/// this build does not act on (the etcd store without the `etcd` feature; VIPs and alert sinks
/// are enacted).
#[test]
fn binary_check_warns_about_what_this_build_does_not_act_on() {
    let run = |config: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchback"))
            .arg("check")
            .arg("-c")
            .arg(config)
            .output()
            .expect("run switchback");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let path = repo().join("deploy/three-site/bj-edge-1.toml");
    let stdout = run(&path);
    let warned: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    let file = path.display().to_string();
    let want: Vec<String> = if cfg!(feature = "etcd") {
        Vec::new()
    } else {
        vec![format!(
            "warning: {file}:16: store.kind: \"etcd\" is not available in this build (no etcd store yet); serve will refuse this config"
        )]
    };
    assert_eq!(warned, want, "{stdout}");
    // A config that uses none of them gets no warning.
    let plain = run(&repo().join("deploy/examples/demo.toml"));
    assert!(!plain.contains("warning"), "{plain}");
}
