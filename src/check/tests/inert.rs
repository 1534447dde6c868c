//! `inert`: one warning per configured part this build does not act on (the etcd store; VIPs
//! and alert sinks are enacted, so never warned about), located like check problems; none for
//! a config that uses none of them.

use super::*;
use crate::check::Inert;
#[cfg(not(feature = "etcd"))]
use crate::check::InertPart;
#[cfg(not(feature = "etcd"))]
use crate::check::inert;
use crate::config::Ctx;

/// MINIMAL with a VIP on crm, the etcd store and one webhook sink (only etcd is inert).
fn unacted() -> String {
    format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.255.1\", sh = \"10.2.255.1\" }} }}\n\n\
         [store]\nkind = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\n\n\
         [[alert]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9000/hook\"\n"
    )
}

/// The warnings for `text` under `env`, located as `check` locates them.
fn warnings(text: &str, env: &[(&str, &str)]) -> Vec<Inert> {
    let (dir, r) = load_text(text, env);
    let config = r.unwrap_or_else(|e| panic!("{e}"));
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let locator = Locator::new(text).expect("valid toml");
    let ctx = Ctx::new(&dir.path().join("switchback.toml"), &locator, &env);
    crate::check::inert::located(&config, &ctx)
}

#[test]
fn a_plain_config_has_no_warnings() {
    assert_eq!(warnings(MINIMAL, &[]), []);
}

#[test]
#[cfg(not(feature = "etcd"))]
fn etcd_warns_once_where_configured_vip_and_alert_sink_never() {
    let text = unacted();
    let found = warnings(&text, &[]);
    let keys: Vec<&str> = found.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["store.kind"], "{found:#?}");
    assert_eq!(found[0].part, InertPart::EtcdStore);
    let line = found[0].at.line();
    assert_eq!(line, Some(line_of(&text, "kind = \"etcd\"")));
    assert_eq!(
        found[0].to_string(),
        format!(
            "{}: store.kind: \"etcd\" is not available in this build (built without feature etcd); \
             serve will refuse this config",
            found[0].at
        )
    );
    assert!(
        found[0]
            .at
            .to_string()
            .ends_with(&format!("switchback.toml:{}", line.expect("line")))
    );
}

#[test]
#[cfg(not(feature = "etcd"))]
fn a_part_set_by_env_names_the_variable() {
    let found = warnings(
        MINIMAL,
        &[
            ("SWITCHBACK__STORE__KIND", "etcd"),
            ("SWITCHBACK__STORE__ENDPOINTS", "http://127.0.0.1:2379"),
        ],
    );
    assert!(
        matches!(&found[..], [Inert { at: Origin::Env { var }, key, part: InertPart::EtcdStore }]
            if var == "SWITCHBACK__STORE__KIND" && key == "store.kind"),
        "{found:#?}"
    );
}

/// The public entry re-reads the config's own file to locate the parts.
#[test]
#[cfg(not(feature = "etcd"))]
fn inert_locates_in_the_loaded_file() {
    let text = unacted();
    let (dir, r) = load_text(&text, &[]);
    let config = r.unwrap_or_else(|e| panic!("{e}"));
    let found = inert(&config);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].at,
        Origin::file(
            dir.path().join("switchback.toml"),
            Some(line_of(&text, "kind = \"etcd\""))
        )
    );
    // Gone since it was loaded: still reported, only without lines.
    drop(dir);
    let found = inert(&config);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found.iter().all(|w| w.at.line().is_none()), "{found:#?}");
}

/// `check` returns the warnings and prints them under the summary, prefixed `warning:`.
#[test]
#[cfg(not(feature = "etcd"))]
fn check_prints_the_warnings_under_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("probes")).expect("mkdir");
    std::fs::write(dir.path().join("probes/crm.toml"), "").expect("write");
    let path = dir.path().join("switchback.toml");
    // A probe-only node needs no zones.
    let text = unacted().replacen("site = \"bj\"", "site = \"bj\"\nroles = [\"probe\"]", 1);
    std::fs::write(&path, &text).expect("write");
    let summary = check(&path, Some(HashMap::new())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.warnings.len(), 1, "{:#?}", summary.warnings);
    let shown = summary.to_string();
    let warned: Vec<&str> = shown
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warned.len(), 1, "{shown}");
    assert!(
        warned[0].starts_with(&format!(
            "warning: {}:{}: store.kind: ",
            path.display(),
            line_of(&text, "kind = \"etcd\"")
        )),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .last()
            .is_some_and(|l| l.contains("store.kind")),
        "{shown}"
    );
}

/// A build with the etcd store acts on it: nothing is inert.
#[test]
#[cfg(feature = "etcd")]
fn a_build_with_etcd_warns_about_nothing() {
    assert_eq!(warnings(&unacted(), &[]), []);
}
