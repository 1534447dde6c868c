//! Loader tests: every bad-file class names file, line and key; good files load fully.

use super::*;

fn errs(text: &str) -> Vec<String> {
    match parse(Path::new("probes/t.toml"), text) {
        Ok(f) => panic!("expected errors, loaded {} checks", f.checks.len()),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = r#"
[[check]]
name = "crm-http-bj"
site = "bj"
layer = "app"
kind = "http"
url = "http://127.0.0.1:8080/health"
expect_status = [200, 204]
body = "ok"
interval = "1s"
fast_interval = "200ms"
timeout = "500ms"
rise = 2
fall = 3

[[check]]
name = "gw-bj"
site = "bj"
layer = "link"
kind = "icmp"
target = "::1"
window = 10
max_loss = 20
max_rtt = "50ms"
max_jitter = "10ms"

[[check]]
name = "uplink"
self_check = true
layer = "link"
kind = "iface"
iface = "eth0"
rise = 1
fall = 1

[[check]]
name = "lag"
site = "sh"
layer = "app"
kind = "exec"
command = ["probes/scripts/replication-lag.sh", "--max", "5"]
env = { DB = "crm" }
"#;

#[test]
fn a_good_file_loads_every_kind_and_default() {
    let f = parse(Path::new("probes/t.toml"), GOOD).expect("loads");
    assert_eq!(f.checks.len(), 4);
    let http = &f.checks[0];
    assert_eq!(http.line, 2);
    assert_eq!(http.timing.fast_interval, Some(Duration::from_millis(200)));
    let CheckKind::Http(h) = &http.kind else {
        panic!("http")
    };
    assert_eq!(h.expect_status, [200, 204]);
    assert!(h.tls_verify, "TLS verification is on by default");
    let gw = &f.checks[1];
    assert_eq!(
        gw.timing.timeout,
        Duration::from_millis(500),
        "default timeout is interval/2"
    );
    let CheckKind::Icmp(IcmpSpec {
        window: Some(w), ..
    }) = &gw.kind
    else {
        panic!("window")
    };
    assert_eq!((w.size, w.max_loss), (10, 20.0));
    assert_eq!(f.checks[2].site, None);
    let CheckKind::Exec(e) = &f.checks[3].kind else {
        panic!("exec")
    };
    assert_eq!(e.command.len(), 3);
    assert_eq!(e.env.get("DB").map(String::as_str), Some("crm"));
}

#[test]
fn unknown_kind_names_file_line_and_key() {
    let e = errs("[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"smtp\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("probes/t.toml:5: check[0].kind: unknown kind \"smtp\""),
        "{e:?}"
    );
}

#[test]
fn timeout_not_below_interval_is_rejected_at_its_line() {
    let e = errs(
        "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"127.0.0.1\"\ninterval = \"1s\"\ntimeout = \"1s\"\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("probes/t.toml:8: check[0].timeout: "),
        "{e:?}"
    );
}

#[test]
fn missing_target_names_the_key_and_the_check_line() {
    let e = errs("\n[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"tcp\"\n");
    assert_eq!(
        e,
        ["probes/t.toml:2: check[0].target: missing (ip:port to connect to)"]
    );
}

#[test]
fn fall_zero_is_out_of_range() {
    let e = errs(
        "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"::1\"\nfall = 0\n",
    );
    assert_eq!(
        e,
        ["probes/t.toml:7: check[0].fall: 0 is out of range 1..=1000"]
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let text = "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"sky\"\nkind = \"tcp\"\ntarget = \"nope\"\nintervall = \"1s\"\n\n[[check]]\nname = \"a\"\nlayer = \"app\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\n";
    let e = errs(text);
    let keys: Vec<&str> = e
        .iter()
        .map(|s| s.split(": ").nth(1).unwrap_or(""))
        .collect();
    assert!(keys.contains(&"check[0].layer"), "{e:?}");
    assert!(keys.contains(&"check[0].target"), "{e:?}");
    assert!(keys.contains(&"check[0].intervall"), "{e:?}");
    assert!(keys.contains(&"check[1].site"), "{e:?}");
}

#[test]
fn duplicate_names_and_bad_toml_are_located() {
    let dup = "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"::1\"\n[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"::1\"\n";
    let e = errs(dup);
    assert!(
        e[0].contains("duplicate check name") && e[0].starts_with("probes/t.toml:7:"),
        "{e:?}"
    );
    let e = errs("[[check]]\nname = \n");
    assert!(e[0].starts_with("probes/t.toml:2: : invalid TOML"), "{e:?}");
}

#[test]
fn window_keys_only_on_link_layer_and_scheme_matches_kind() {
    let e = errs(
        "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"host\"\nkind = \"icmp\"\ntarget = \"::1\"\nmax_loss = 10\n",
    );
    assert!(e[0].contains("link-layer icmp checks only"), "{e:?}");
    let e = errs(
        "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"https\"\nurl = \"http://127.0.0.1/\"\n",
    );
    assert!(
        e[0].starts_with("probes/t.toml:6: check[0].url: scheme"),
        "{e:?}"
    );
}

#[test]
fn every_example_probe_file_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    let dirs = [root.join("probes"), root.join("deploy/examples/probes")];
    for entry in dirs
        .iter()
        .filter(|d| d.is_dir())
        .flat_map(|d| std::fs::read_dir(d).expect("readable"))
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = load(&path) {
                panic!("{}: {e:?}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 4, "expected the example files, found {n}");
}

#[test]
fn one_bad_sample_must_not_switch_so_site_checks_need_fall_two() {
    let e = errs(
        "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\nfall = 1\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("check[0].fall: must be at least 2"), "{e:?}");
    // An iface check follows the carrier state, a self-check only abstains: fall 1 is fine.
    let ok = "[[check]]\nname = \"t\"\nsite = \"bj\"\nlayer = \"link\"\nkind = \"iface\"\niface = \"eth0\"\nfall = 1\n\n[[check]]\nname = \"u\"\nself_check = true\nlayer = \"link\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\nfall = 1\n";
    parse(Path::new("probes/t.toml"), ok).expect("loads");
}

#[test]
fn a_preset_sets_timing_and_written_keys_win() {
    let text = "[[check]]\nname = \"a\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\npreset = \"fast\"\nsilence = 30\n";
    let f = parse(Path::new("probes/t.toml"), text).expect("loads");
    let t = &f.checks[0].timing;
    assert_eq!(t.interval, Duration::from_millis(100));
    assert_eq!(t.fast_interval, Some(Duration::from_millis(20)));
    assert_eq!(t.timeout, Duration::from_millis(50));
    assert_eq!((t.rise, t.fall, t.loss_window, t.silence), (2, 2, 60, 30));
    let e = errs(&text.replace("fast", "turbo"));
    assert!(e[0].contains("unknown preset \"turbo\""), "{e:?}");
    let e = errs(&text.replace("silence = 30", "up_ratio = 1.0"));
    assert!(e[0].contains("must be below down_ratio"), "{e:?}");
}
