//! `check` on temp trees: referenced files must exist, config problems come first, problems
//! inside referenced files are located there.

use super::*;

/// A temp config dir with every referenced file present except those in `skip`.
fn tree(skip: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "{MINIMAL}\n[votes]\nkey_files = [\"keys/votes.key\"]\n\n[dns]\nzones = [\"zones/boss.example.zone\"]\n\n[admin]\ntoken_file = \"keys/admin.token\"\n"
    );
    std::fs::write(dir.path().join("switchback.toml"), text).expect("write");
    for f in [
        "keys/votes.key",
        "keys/admin.token",
        "zones/boss.example.zone",
        "probes/crm.toml",
    ] {
        if skip.contains(&f) {
            continue;
        }
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let body = if f.starts_with("keys/") {
            "s3cret\n"
        } else {
            ""
        };
        std::fs::write(&p, body).expect("write");
    }
    dir
}

fn check_errors(dir: &tempfile::TempDir) -> Vec<ConfigError> {
    match check(&dir.path().join("switchback.toml"), Some(HashMap::new())) {
        Ok(s) => panic!("expected problems, got:\n{s}"),
        Err(CheckErrors(e)) => e,
    }
}

/// Issue #13: secrets are read the way `serve` reads them, and the user is named.
#[test]
fn unreadable_or_empty_secrets_are_refused_naming_the_key_and_user() {
    let dir = tree(&[]);
    std::fs::write(dir.path().join("keys/votes.key"), b"\xff\xfe not text").expect("write");
    std::fs::write(dir.path().join("keys/admin.token"), "  \n").expect("write");
    let errors = check_errors(&dir);
    let shown = CheckErrors(errors.clone()).to_string();
    let keys: Vec<&str> = errors
        .iter()
        .filter(|e| matches!(e, ConfigError::MissingFile { .. }))
        .map(ConfigError::key)
        .collect();
    assert_eq!(keys, ["votes.key_files[0]", "admin.token_file"], "{shown}");
    assert!(shown.contains("cannot read as "), "{shown}");
    assert!(shown.contains("uid "), "{shown}");
    assert!(shown.contains("is empty"), "{shown}");
    // Not root: a permission problem is found too (root reads anything).
    if !nix::unistd::Uid::effective().is_root() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree(&[]);
        let key = dir.path().join("keys/votes.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let shown = CheckErrors(check_errors(&dir)).to_string();
        assert!(shown.contains("Permission denied"), "{shown}");
    }
}

#[test]
fn missing_referenced_files() {
    let dir = tree(&[
        "keys/votes.key",
        "zones/boss.example.zone",
        "probes/crm.toml",
    ]);
    let errors = check_errors(&dir);
    let missing: Vec<&str> = errors
        .iter()
        .filter(|e| matches!(e, ConfigError::MissingFile { .. }))
        .map(ConfigError::key)
        .collect();
    assert_eq!(
        missing,
        ["votes.key_files[0]", "dns.zones[0]", "service[0].probes"],
        "{}",
        CheckErrors(errors.clone())
    );
    let shown = CheckErrors(errors).to_string();
    assert!(
        shown.contains("switchback.toml:15: service[0].probes: file "),
        "{shown}"
    );
}

#[test]
fn config_problems_come_first_and_alone() {
    let dir = tree(&[]);
    let path = dir.path().join("switchback.toml");
    let text = std::fs::read_to_string(&path).expect("read") + "bogus = 1\n";
    std::fs::write(&path, text).expect("write");
    let errors = check_errors(&dir);
    assert!(
        matches!(&errors[..], [ConfigError::UnknownKey { .. }]),
        "{}",
        CheckErrors(errors.clone())
    );
}

/// Needs the real `dns::zonefile::load` (the stub returns an empty origin) and the real
/// `probe::defs::load`; the integrator un-ignores it after merging the dns and probe branches.
#[test]
fn consistent_tree_passes_with_a_summary() {
    let dir = tree(&[]);
    std::fs::write(
        dir.path().join("zones/boss.example.zone"),
        "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 30\n@ IN NS ns1\nns1 IN A 10.1.0.53\n",
    )
    .expect("write zone");
    let summary = check(&dir.path().join("switchback.toml"), Some(HashMap::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = summary.to_string();
    assert!(shown.contains("crm.boss.example."), "{shown}");
    assert!(shown.lines().count() < 25, "{shown}");
}

#[test]
fn an_authority_needs_zones_for_its_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("probes")).expect("mkdir");
    std::fs::write(dir.path().join("probes/crm.toml"), "").expect("write");
    let path = dir.path().join("switchback.toml");
    std::fs::write(&path, MINIMAL).expect("write");
    let errors = check_errors(&dir);
    assert!(
        matches!(&errors[..], [ConfigError::Conflict { key, problem, .. }]
            if key == "service[0].names[0]" && problem.contains("dns.zones is empty")),
        "{}",
        CheckErrors(errors.clone())
    );
    // A probe-only node serves no DNS: no zones needed.
    std::fs::write(
        &path,
        edit("site = \"bj\"", "site = \"bj\"\nroles = [\"probe\"]"),
    )
    .expect("write");
    if let Err(e) = check(&path, Some(HashMap::new())) {
        panic!("{e}");
    }
}

/// Problems inside referenced files come back located in those files.
#[test]
fn problems_inside_probes_and_zone_files_are_located_there() {
    let dir = tree(&[]);
    std::fs::write(
        dir.path().join("probes/crm.toml"),
        "[[check]]\nname = \"x\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nrise = 1\nfall = 1\nbogus = 1\n",
    )
    .expect("write probes");
    std::fs::write(
        dir.path().join("zones/boss.example.zone"),
        "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 30\n@ IN NS ns1\nns1 IN A 10.1.0.300\n",
    )
    .expect("write zone");
    let errors = check_errors(&dir);
    let shown = CheckErrors(errors.clone()).to_string();
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, ConfigError::InReferencedFile { .. })),
        "{shown}"
    );
    assert!(
        errors.iter().any(|e| e
            .at()
            .path()
            .is_some_and(|p| p.ends_with("probes/crm.toml"))
            && e.at().line() == Some(11)),
        "{shown}"
    );
    assert!(
        errors.iter().any(|e| e
            .at()
            .path()
            .is_some_and(|p| p.ends_with("boss.example.zone"))),
        "{shown}"
    );
}
