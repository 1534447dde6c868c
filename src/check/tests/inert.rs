//! `inert`: one warning per configured part this build does not act on (alert sinks, VIPs,
//! the etcd store), located like check problems; none for a config that uses none of them.

use super::*;
#[cfg(not(feature = "etcd"))]
use crate::check::InertPart;
use crate::check::{Inert, inert};
use crate::config::Ctx;

/// How many warnings the etcd store adds: one without the `etcd` feature, none with it.
const ETCD: usize = if cfg!(feature = "etcd") { 0 } else { 1 };

/// MINIMAL with a VIP on crm, the etcd store and one webhook sink.
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
fn alert_sink_vip_and_etcd_each_warn_once_where_configured() {
    let text = unacted();
    let found = warnings(&text, &[]);
    let keys: Vec<&str> = found.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        ["store.kind", "service[0].vip", "alert[0]"],
        "{found:#?}"
    );
    assert_eq!(found[0].part, InertPart::EtcdStore);
    assert_eq!(
        found[1].part,
        InertPart::Vip {
            service: "crm".into(),
            prefix: "10.9.0.10/32".parse().expect("prefix"),
        }
    );
    assert_eq!(
        found[2].part,
        InertPart::Alert {
            sink: "webhook http://127.0.0.1:9000/hook".into()
        }
    );
    let lines: Vec<Option<usize>> = found.iter().map(|w| w.at.line()).collect();
    assert_eq!(
        lines,
        [
            Some(line_of(&text, "kind = \"etcd\"")),
            Some(line_of(&text, "vip =")),
            Some(line_of(&text, "[[alert]]")),
        ]
    );
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    let at = |w: &Inert| w.at.to_string();
    assert_eq!(
        shown,
        [
            format!(
                "{}: store.kind: \"etcd\" is not available in this build (no etcd store yet); \
                 serve will refuse this config",
                at(&found[0])
            ),
            format!(
                "{}: service[0].vip: vip 10.9.0.10/32 of service crm is not enacted by this \
                 build (no route enactor yet); only DNS answers move",
                at(&found[1])
            ),
            format!(
                "{}: alert[0]: webhook http://127.0.0.1:9000/hook is not used by this build \
                 (no alert enactor yet); nothing will be paged",
                at(&found[2])
            ),
        ]
    );
    assert!(at(&found[0]).ends_with(&format!("switchback.toml:{}", lines[0].expect("line"))));
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
fn inert_locates_in_the_loaded_file() {
    let text = unacted();
    let (dir, r) = load_text(&text, &[]);
    let config = r.unwrap_or_else(|e| panic!("{e}"));
    let found = inert(&config);
    assert_eq!(found.len(), 2 + ETCD, "{found:#?}");
    assert_eq!(
        found[ETCD].at,
        Origin::file(
            dir.path().join("switchback.toml"),
            Some(line_of(&text, "vip ="))
        )
    );
    // Gone since it was loaded: still reported, only without lines.
    drop(dir);
    let found = inert(&config);
    assert_eq!(found.len(), 2 + ETCD, "{found:#?}");
    assert!(found.iter().all(|w| w.at.line().is_none()), "{found:#?}");
}

/// `check` returns the warnings and prints them under the summary, prefixed `warning:`.
#[test]
fn check_prints_the_warnings_under_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("probes")).expect("mkdir");
    std::fs::write(dir.path().join("probes/crm.toml"), "").expect("write");
    let path = dir.path().join("switchback.toml");
    // A probe-only node needs no zones.
    let text = unacted().replacen("site = \"bj\"", "site = \"bj\"\nroles = [\"probe\"]", 1);
    std::fs::write(&path, &text).expect("write");
    let summary = check(&path, Some(HashMap::new())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.warnings.len(), 2 + ETCD, "{:#?}", summary.warnings);
    let shown = summary.to_string();
    let warned: Vec<&str> = shown
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warned.len(), 2 + ETCD, "{shown}");
    assert!(
        ETCD == 0
            || warned[0].starts_with(&format!(
                "warning: {}:{}: store.kind: ",
                path.display(),
                line_of(&text, "kind = \"etcd\"")
            )),
        "{shown}"
    );
    assert!(
        shown.lines().last().is_some_and(|l| l.contains("alert[0]")),
        "{shown}"
    );
}
