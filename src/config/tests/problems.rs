//! One test per problem class `load` must catch, each checking the variant, key and line.

use super::*;
use crate::config::Origin;

/// Asserts `e` is located at `line` of the temp config.
fn at_line(e: &ConfigError, line: usize) {
    assert_eq!(e.at().line(), Some(line), "wrong line: {e}");
    assert!(
        e.at()
            .path()
            .is_some_and(|p| p.ends_with("switchback.toml")),
        "{e}"
    );
}

const SECOND_SERVICE: &str = r#"
[[service]]
name = "billing"
names = ["billing.boss.example."]
addresses = { bj = ["10.1.0.20"], sh = ["10.2.0.20"] }
probes = "probes/billing.toml"
"#;

#[test]
fn bad_duration() {
    let text = format!("{MINIMAL}policy = {{ hold_down = \"3 parsecs\" }}\n");
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{}", ConfigErrors(p.clone()));
    assert!(
        matches!(&p[0], ConfigError::BadValue { key, .. } if key == "service[0].policy.hold_down")
    );
    at_line(&p[0], line_of(&text, "policy ="));
    assert!(
        p[0].to_string().contains("bad duration \"3 parsecs\""),
        "{}",
        p[0]
    );
}

#[test]
fn bad_address() {
    let text = edit("bj = [\"10.1.0.10\"]", "bj = [\"10.1.0.300\"]");
    let e = one(&text, "service[0].addresses.bj[0]");
    assert!(matches!(e, ConfigError::BadValue { .. }));
    at_line(&e, line_of(&text, "addresses"));
    let text = format!("{MINIMAL}\n[admin]\nlisten = \"localhost\"\n");
    at_line(&one(&text, "admin.listen"), line_of(&text, "listen ="));
    let text = format!("{MINIMAL}\n[dns]\nlisten = [\"127.0.0.1:53\",\n  \"::1:53\"]\n");
    at_line(&one(&text, "dns.listen[1]"), line_of(&text, "\"::1:53\""));
    let text = edit(
        "[sites.sh]\n",
        "[sites.sh]\ngateways = [\"10.2.255.1/24\"]\n",
    );
    one(&text, "sites.sh.gateways[0]");
}

#[test]
fn bad_cidr() {
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.0/40\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\" }} }}\n"
    );
    let e = one(&text, "service[0].vip.prefix");
    assert!(
        e.to_string().contains("bad CIDR prefix \"10.9.0.0/40\""),
        "{e}"
    );
    let text = format!("{MINIMAL}\n[dns]\nallow_transfer = [\"10.0.0.0/8\", \"nope\"]\n");
    one(&text, "dns.allow_transfer[1]");
}

#[test]
fn service_naming_an_unknown_site() {
    let text = edit(
        "sh = [\"10.2.0.10\"]",
        "sh = [\"10.2.0.10\"], hk = [\"10.4.0.10\"]",
    );
    let e = one(&text, "service[0].addresses.hk");
    assert!(matches!(e, ConfigError::Conflict { .. }));
    assert!(
        e.to_string()
            .contains("unknown site `hk`; [sites] defines: bj, sh"),
        "{e}"
    );
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\", sh = \"10.2.0.1\", hk = \"10.4.0.1\" }} }}\n"
    );
    one(&text, "service[0].vip.next_hop.hk");
    let text = edit("site = \"bj\"", "site = \"hk\"");
    one(&text, "node.site");
}

#[test]
fn quorum_larger_than_the_probes_that_can_vote() {
    // No voters: this node alone votes, so quorum 2 can never be met.
    let text = format!("{MINIMAL}policy = {{ quorum = 2 }}\n");
    let e = one(&text, "service[0].policy.quorum");
    assert!(matches!(e, ConfigError::Conflict { .. }));
    assert!(e.to_string().contains("this node alone votes"), "{e}");
    let text = format!(
        "{MINIMAL}policy = {{ quorum = 3, min_domains = 2 }}\n[votes]\nkey_files = [\"k\"]\nvoters = [{{ id = \"a\", domain = \"bj\" }}, {{ id = \"b\", domain = \"sh\" }}]\n"
    );
    let e = one(&text, "service[0].policy.quorum");
    assert!(
        e.to_string()
            .contains("larger than the 2 probe(s) that can vote (a, b)"),
        "{e}"
    );
}

#[test]
fn min_domains_larger_than_the_voters_domains() {
    let text = format!(
        "{MINIMAL}policy = {{ quorum = 2, min_domains = 2 }}\n[votes]\nkey_files = [\"k\"]\nvoters = [{{ id = \"a\", domain = \"bj\" }}, {{ id = \"b\", domain = \"bj\" }}]\n"
    );
    let e = one(&text, "service[0].policy.min_domains");
    assert!(
        e.to_string()
            .contains("1 distinct failure domain(s) of the voters (bj)"),
        "{e}"
    );
}

#[test]
fn duplicate_voter() {
    let text = format!(
        "{MINIMAL}\n[votes]\nkey_files = [\"k\"]\nvoters = [{{ id = \"a\", domain = \"bj\" }}, {{ id = \"a\", domain = \"sh\" }}]\n"
    );
    one(&text, "votes.voters[1].id");
}

#[test]
fn duplicate_service_name() {
    let text = format!(
        "{MINIMAL}{}",
        SECOND_SERVICE.replace("\"billing\"", "\"crm\"")
    );
    let e = one(&text, "service[1].name");
    assert!(
        e.to_string()
            .contains("duplicate service name `crm` (first at service[0])"),
        "{e}"
    );
    at_line(&e, line_of(&text, "name = \"crm\"\nnames = [\"billing"));
}

#[test]
fn duplicate_dns_name_case_insensitive() {
    let text = format!(
        "{MINIMAL}{}",
        SECOND_SERVICE.replace(
            "[\"billing.boss.example.\"]",
            "[\"billing.boss.example.\", \"CRM.boss.EXAMPLE\"]"
        )
    );
    let e = one(&text, "service[1].names[1]");
    assert!(
        e.to_string()
            .contains("duplicate DNS name `crm.boss.example.` (first at service[0].names[0])"),
        "{e}"
    );
    let text = edit(
        "[\"crm.boss.example.\"]",
        "[\"crm.boss.example.\", \"bad..name\"]",
    );
    one(&text, "service[0].names[1]");
}

#[test]
fn primary_without_backup() {
    let text = edit("role = \"backup\"", "role = \"arbiter\"");
    let p = problems(&text);
    let e = p
        .iter()
        .find(|e| e.key() == "sites.bj.role")
        .unwrap_or_else(|| panic!("{}", ConfigErrors(p.clone())));
    assert!(e.to_string().contains("primary `bj` has no backup"), "{e}");
    at_line(e, line_of(&text, "role = \"primary\""));
}

#[test]
fn not_exactly_one_primary() {
    let text = edit("role = \"backup\"", "role = \"primary\"");
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|e| e.key() == "sites.sh.role" && e.to_string().contains("more than one primary")),
        "{}",
        ConfigErrors(p)
    );
    let text = edit("role = \"primary\"", "role = \"backup\"");
    let p = problems(&text);
    assert!(p.iter().any(|e| e.key() == "sites" && e.to_string().contains("no site has role = \"primary\"")), "{}", ConfigErrors(p));
}

#[test]
fn unknown_site_role() {
    let e = one(
        &edit("role = \"backup\"", "role = \"standby\""),
        "sites.sh.role",
    );
    assert!(
        e.to_string().contains("known: primary, backup, arbiter"),
        "{e}"
    );
}

#[test]
fn policy_sanity() {
    let text = format!("{MINIMAL}policy = {{ hold_down = \"0s\" }}\n");
    one(&text, "service[0].policy.hold_down");
    let text = format!("{MINIMAL}policy = {{ hold_down = \"20m\", failback_hold = \"10m\" }}\n");
    one(&text, "service[0].policy.failback_hold");
    let text = format!("{MINIMAL}policy = {{ hold_down = \"1s\", failback_hold = \"2s\" }}\n");
    let e = one(&text, "service[0].policy.failback_hold");
    assert!(e.to_string().contains("below 3 x hold_down"), "{e}");
    let text = format!("{MINIMAL}policy = {{ preset = \"turbo\" }}\n");
    let e = one(&text, "service[0].policy.preset");
    assert!(
        e.to_string().contains("known: lan, fast, standard, wan"),
        "{e}"
    );
    let text = format!("{MINIMAL}policy = {{ damping_half_life = \"1m\" }}\n");
    one(&text, "service[0].policy.damping_half_life");
    let text = format!("{MINIMAL}policy = {{ quorum = 0 }}\n");
    one(&text, "service[0].policy.quorum");
    let text = format!("{MINIMAL}policy = {{ mode = \"yolo\" }}\n");
    one(&text, "service[0].policy.mode");
    let text = format!("{MINIMAL}policy = {{ mode = \"confirm\", confirm_timeout = \"0s\" }}\n");
    one(&text, "service[0].policy.confirm_timeout");
}

#[test]
fn ttl_sanity() {
    let text = format!("{MINIMAL}ttl = \"1500ms\"\n");
    let e = one(&text, "service[0].ttl");
    assert!(e.to_string().contains("whole seconds"), "{e}");
    let text = format!("{MINIMAL}ttl = \"10s\"\ndegraded_ttl = \"60s\"\n");
    one(&text, "service[0].degraded_ttl");
}

#[test]
fn vip_next_hop_for_every_serving_site() {
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\" }} }}\n"
    );
    let e = one(&text, "service[0].vip.next_hop");
    assert!(
        e.to_string().contains("no next hop for serving site `sh`"),
        "{e}"
    );
    let text = format!(
        "{MINIMAL}vip = {{ prefix = \"10.9.0.10/32\", next_hop = {{ bj = \"10.1.0.1\", sh = \"fd00::1\" }} }}\n"
    );
    one(&text, "service[0].vip.next_hop.sh");
}

#[test]
fn service_without_backup_addresses() {
    let text = edit(", sh = [\"10.2.0.10\"]", "");
    let e = one(&text, "service[0].addresses");
    assert!(e.to_string().contains("nowhere to fail over"), "{e}");
}

#[test]
fn roles_known() {
    let text = edit(
        "site = \"bj\"",
        "site = \"bj\"\nroles = [\"probe\", \"dictator\"]",
    );
    let e = one(&text, "node.roles[1]");
    at_line(&e, line_of(&text, "roles"));
}

#[test]
fn etcd_store_needs_endpoints() {
    let text = format!("{MINIMAL}\n[store]\nkind = \"etcd\"\n");
    let e = one(&text, "store.endpoints");
    assert!(e.to_string().contains("needs endpoints"), "{e}");
    at_line(&e, line_of(&text, "[store]"));
    let text = format!("{MINIMAL}\n[store]\nkind = \"etcd\"\nendpoints = [\"10.0.0.1:2379\"]\n");
    one(&text, "store.endpoints[0]");
    let text = format!("{MINIMAL}\n[store]\nkind = \"zookeeper\"\n");
    one(&text, "store.kind");
}

#[test]
fn alert_sinks() {
    let text = format!("{MINIMAL}\n[[alert]]\nkind = \"webhook\"\n");
    one(&text, "alert[0].url");
    let text = format!(
        "{MINIMAL}\n[[alert]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\ncommand = [\"x\"]\n"
    );
    one(&text, "alert[0].command");
    let text = format!("{MINIMAL}\n[[alert]]\nkind = \"pigeon\"\n");
    one(&text, "alert[0].kind");
    let text = format!("{MINIMAL}\n[[alert]]\nkind = \"exec\"\ncommand = []\n");
    one(&text, "alert[0].command");
    let hook = "[[alert]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n";
    one(
        &format!("{MINIMAL}\n{hook}kinds = [\"failover\", \"pigeon\"]\n"),
        "alert[0].kinds[1]",
    );
    one(
        &format!("{MINIMAL}\n{hook}min_severity = \"loud\"\n"),
        "alert[0].min_severity",
    );
    one(
        &format!("{MINIMAL}\n{hook}services = [\"nope\"]\n"),
        "alert[0].services[0]",
    );
    one(
        &format!("{MINIMAL}\n{hook}timeout = \"soon\"\n"),
        "alert[0].timeout",
    );
    one(
        &format!("{MINIMAL}\n{hook}name = \"a\"\n\n{hook}name = \"a\"\n"),
        "alert[1].name",
    );
    one(
        &format!(
            "{MINIMAL}\n[[alert]]\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:1/\"\nheaders = {{ A = \"b\" }}\n"
        ),
        "alert[0].headers",
    );
}

#[test]
fn alert_sinks_get_names_filters_and_defaults() {
    let hook = "[[alert]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\n";
    let text = format!(
        "{MINIMAL}\n{hook}\n{hook}min_severity = \"critical\"\nkinds = [\"failover\"]\nservices = [\"crm\"]\nmax_age = \"1h\"\n\n\
         [[alert]]\nkind = \"exec\"\ncommand = [\"/bin/true\"]\n"
    );
    let (_dir, r) = load_text(&text, &[]);
    let c = r.unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["webhook-0", "webhook-1", "exec"]);
    assert_eq!(
        c.alerts[1].filter.min_severity,
        crate::config::Severity::Critical
    );
    assert_eq!(c.alerts[1].filter.kinds, ["failover"]);
    assert_eq!(c.alerts[1].max_age, std::time::Duration::from_secs(3600));
    assert_eq!(c.alerts[0].timeout, std::time::Duration::from_secs(10));
}

#[test]
fn wrong_type() {
    let text = format!("{MINIMAL}\n[dns]\nudp_sockets = \"four\"\n");
    let e = one(&text, "dns.udp_sockets");
    assert!(matches!(e, ConfigError::WrongType { .. }), "{e}");
    at_line(&e, line_of(&text, "udp_sockets"));
}

#[test]
fn missing_required_keys() {
    let text = MINIMAL
        .replace("id = \"n1\"\n", "")
        .replace("probes = \"probes/crm.toml\"\n", "");
    let p = problems(&text);
    let keys: Vec<&str> = p.iter().map(ConfigError::key).collect();
    assert_eq!(
        keys,
        ["node.id", "service[0].probes"],
        "{}",
        ConfigErrors(p.clone())
    );
    assert!(
        p.iter()
            .all(|e| matches!(e, ConfigError::MissingKey { .. }))
    );
    at_line(&p[0], 1);
}

#[test]
fn syntax_error_has_a_line() {
    let text = edit("site = \"bj\"", "site = \"bj");
    let p = problems(&text);
    assert!(
        matches!(&p[..], [ConfigError::Syntax { .. }]),
        "{}",
        ConfigErrors(p.clone())
    );
    at_line(&p[0], 3);
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nope.toml");
    let e = load(&path, Some(HashMap::new())).expect_err("missing file");
    assert!(
        matches!(
            &e.0[..],
            [ConfigError::Read {
                at: Origin::File { .. },
                ..
            }]
        ),
        "{e}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = format!(
        "{MINIMAL}ttl = \"soon\"\ncolour = \"red\"\npolicy = {{ hold_down = \"x\", flavour = 1 }}\n\n[dns]\nlisten = [\"nope\"]\nudp_sockets = \"four\"\nzonez = []\n"
    );
    let p = problems(&text);
    let mut keys: Vec<&str> = p.iter().map(ConfigError::key).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "dns.listen[0]",
            "dns.udp_sockets",
            "dns.zonez",
            "service[0].colour",
            "service[0].policy.flavour",
            "service[0].policy.hold_down",
            "service[0].ttl",
        ],
        "{}",
        ConfigErrors(p.clone())
    );
    // One `file:line: key: problem` per line.
    let shown = ConfigErrors(p).to_string();
    assert_eq!(shown.lines().count(), 7, "{shown}");
    for l in shown.lines() {
        let mut parts = l.splitn(4, ": ");
        let place = parts.next().unwrap_or_default();
        assert!(place.contains("switchback.toml:"), "{l}");
        assert!(parts.next().is_some() && parts.next().is_some(), "{l}");
    }
}

#[test]
fn other_voters_need_key_files() {
    let text = format!(
        "{MINIMAL}\n[votes]\nvoters = [{{ id = \"n1\", domain = \"bj\" }}, {{ id = \"n2\", domain = \"sh\" }}]\n"
    );
    let e = one(&text, "votes.key_files");
    at_line(&e, line_of(&text, "[votes]"));
    // This node alone needs no keys.
    let text = format!("{MINIMAL}\n[votes]\nvoters = [{{ id = \"n1\", domain = \"bj\" }}]\n");
    load_text(&text, &[]).1.unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn wrong_shapes_are_named_in_toml_words() {
    for (text, key, want) in [
        (
            format!("{MINIMAL}\n[dns]\nudp_sockets = 1.5\n"),
            "dns.udp_sockets",
            "found floating point `1.5`, expected a whole number",
        ),
        (
            format!("{MINIMAL}policy = {{ quorum = -1 }}\n"),
            "service[0].policy.quorum",
            "integer `-1`, expected a whole number",
        ),
        (
            edit(
                "names = [\"crm.boss.example.\"]",
                "names = \"crm.boss.example.\"",
            ),
            "service[0].names",
            "found string \"crm.boss.example.\", expected an array",
        ),
        (
            format!("{MINIMAL}policy = 3\n"),
            "service[0].policy",
            "found integer `3`, expected a table",
        ),
        (
            MINIMAL.replace("[[service]]", "[service]"),
            "service",
            "found a table, expected an array",
        ),
    ] {
        let e = one(&text, key);
        assert!(matches!(e, ConfigError::WrongType { .. }), "{e}");
        assert!(e.to_string().contains(want), "want {want:?} in {e}");
    }
}

#[test]
fn site_ids_are_lower_case_words() {
    let text = edit("[sites.sh]", "[sites.SH]").replace("sh = [", "SH = [");
    let e = one(&text, "sites.SH");
    at_line(&e, line_of(&text, "[sites.SH]"));
}

#[test]
fn problems_come_in_file_order() {
    // Sites are validated before [node], yet the node's problem is written first.
    let text = edit("site = \"bj\"", "site = \"bj\"\nroles = [\"boss\"]")
        .replace("role = \"backup\"", "role = \"spare\"");
    let lines: Vec<usize> = problems(&text)
        .iter()
        .filter_map(|e| e.at().line())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

const TWO_KEYS: &str = r#"
[dns]
notify = ["127.0.0.1:5399"]
tsig_keys = [{ name = "a.key.", secret_file = "a" }, { name = "b.key.", secret_file = "b" }]
"#;

#[test]
fn notify_key_must_name_a_configured_key() {
    let text = format!("{MINIMAL}{TWO_KEYS}notify_key = \"C.key\"\n");
    let e = one(&text, "dns.notify_key");
    at_line(&e, line_of(&text, "notify_key"));
    assert!(
        e.to_string()
            .contains("no TSIG key `c.key.` in dns.tsig_keys (known: a.key., b.key.)"),
        "{e}"
    );
}

#[test]
fn several_keys_and_secondaries_need_a_notify_key() {
    let text = format!("{MINIMAL}{TWO_KEYS}");
    let e = one(&text, "dns.notify_key");
    assert!(
        e.to_string()
            .contains("name the one NOTIFYs are signed with"),
        "{e}"
    );
    let named = format!("{MINIMAL}{TWO_KEYS}notify_key = \"B.Key.\"\n");
    let c = load_text(&named, &[]).1.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.dns.notify_key.as_deref(), Some("b.key."));
}

#[test]
fn the_only_key_signs_notify() {
    let text = format!(
        "{MINIMAL}\n[dns]\nnotify = [\"127.0.0.1:5399\"]\ntsig_keys = [{{ name = \"xfr.\", secret_file = \"k\" }}]\n"
    );
    let c = load_text(&text, &[]).1.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.dns.notify_key.as_deref(), Some("xfr."));
    let c = load_text(MINIMAL, &[]).1.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.dns.notify_key, None);
}
