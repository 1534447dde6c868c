//! Every table of the schema refuses array form and empty values (issue #13): a struct would
//! otherwise deserialize from a list by position, so `policy = []` meant `mode = "auto"`.

use super::*;

/// `text` is refused, with a problem at `key` that says a table was expected.
fn refused_at(text: &str, key: &str) {
    let p = problems(text);
    assert!(
        p.iter()
            .any(|e| e.key() == key && e.to_string().contains("a table")),
        "want a table problem at {key}, got:\n{}",
        ConfigErrors(p.clone())
    );
}

#[test]
fn policy_as_a_list_is_refused_with_the_key_named() {
    for policy in [
        "[]",
        "[\"manual\"]",
        "[\"confirm\", 1, 1, \"9s\"]",
        "\"\"",
        "\"confirm\"",
    ] {
        let text = format!("{MINIMAL}policy = {policy}\n");
        refused_at(&text, "service[0].policy");
    }
}

#[test]
fn every_section_refuses_a_list() {
    for section in ["store", "votes", "log", "dns", "admin", "route"] {
        refused_at(&format!("{section} = []\n{MINIMAL}"), section);
    }
    refused_at(
        &format!(
            "node = []\n{}",
            MINIMAL.replacen("[node]\nid = \"n1\"\nsite = \"bj\"\n", "", 1)
        ),
        "node",
    );
    refused_at(
        &edit(
            "[sites.sh]\nrole = \"backup\"\n",
            "[sites]\nsh = [\"backup\"]\n",
        ),
        "sites.sh",
    );
    refused_at(
        &format!("{MINIMAL}vip = [\"10.9.0.1/32\"]\n"),
        "service[0].vip",
    );
    refused_at(
        &format!("{MINIMAL}\n[votes]\nvoters = [[\"p1\", \"bj\"]]\n"),
        "votes.voters[0]",
    );
    refused_at(
        &format!("{MINIMAL}\n[dns]\ntsig_keys = [[\"k\"]]\n"),
        "dns.tsig_keys[0]",
    );
    refused_at(&format!("alert = [[\"log\"]]\n{MINIMAL}"), "alert[0]");
}

#[test]
fn tables_still_load() {
    let text = format!("{MINIMAL}policy = {{ mode = \"confirm\" }}\n");
    let (_dir, r) = load_text(&text, &[]);
    let cfg = r.expect("loads");
    assert_eq!(format!("{:?}", cfg.services[0].policy.mode), "Confirm");
}
