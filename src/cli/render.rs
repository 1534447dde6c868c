//! Human-readable rendering of admin API answers (the `--json` flag skips this).

use serde_json::Value;
use std::fmt::Write;

/// A pending proposal as `KIND->SITE (approve by HH:MM:SSZ)`, not its raw JSON.
fn pending(v: &Value) -> String {
    let Some(p) = v.as_object() else {
        return "-".to_owned();
    };
    let to = p.get("to").and_then(Value::as_str).unwrap_or("?");
    let kind = p.get("kind").and_then(Value::as_str).unwrap_or("switch");
    let by = p
        .get("deadline")
        .and_then(Value::as_u64)
        .map(|ms| {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
            let iso = humantime::format_rfc3339_seconds(t).to_string();
            format!(" (approve by {})", iso.get(11..).unwrap_or(&iso))
        })
        .unwrap_or_default();
    format!("{kind}->{to}{by}")
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        other => other.to_string(),
    }
}

/// One line per service: `SERVICE ACTIVE EPOCH MODE PENDING MAINT DEGRADED REASON`.
pub(crate) fn status(answer: &Value) -> String {
    let mut rows = vec![
        [
            "SERVICE", "ACTIVE", "EPOCH", "MODE", "PENDING", "MAINT", "DEGRADED", "FLAPPING",
            "REASON",
        ]
        .map(str::to_owned),
    ];
    let empty = Vec::new();
    let services = answer
        .get("services")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for s in services {
        let f = |k: &str| text(s.get(k).unwrap_or(&Value::Null));
        rows.push([
            f("name"),
            f("active_site"),
            f("epoch"),
            f("mode"),
            pending(s.get("pending").unwrap_or(&Value::Null)),
            f("maintenance"),
            f("degraded"),
            f("flapping"),
            f("reason"),
        ]);
    }
    table(&rows) + &enactment_problems(services) + &authorities(answer)
}

/// A blank line, then one row per authority: `AUTHORITY ROLE STATE EPOCHS` (`*` marks the
/// leader; per service the epoch its enactors applied, `behind (N)` below the newest one known
/// here, `-` when nothing enacts it there; `stale` when it is cut off from the store, `gone`
/// when its record expired).
fn authorities(answer: &Value) -> String {
    let empty = Vec::new();
    let list = answer["cluster"]["authorities"]
        .as_array()
        .unwrap_or(&empty);
    if list.is_empty() {
        return String::new();
    }
    // The newest epoch of each service known here: this node's committed one, or any applied.
    let mut newest: std::collections::BTreeMap<String, u64> = answer["services"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|s| Some((s["name"].as_str()?.to_owned(), s["epoch"].as_u64()?)))
        .collect();
    for a in list {
        for (s, e) in a["epochs"].as_object().into_iter().flatten() {
            let n = newest.entry(s.clone()).or_default();
            *n = (*n).max(e.as_u64().unwrap_or_default());
        }
    }
    let single = answer["cluster"]["role"] == "single";
    let mut rows = vec![["AUTHORITY", "ROLE", "STATE", "EPOCHS"].map(str::to_owned)];
    for a in list {
        let leads = a["leader"] == true;
        let role = match (single, leads) {
            (true, _) => "single",
            (false, true) => "leader",
            (false, false) => "follower",
        };
        let state = if a["gone"] == true {
            "gone"
        } else if a["stale"] == true {
            "stale"
        } else {
            "ok"
        };
        let epochs: Vec<String> = newest
            .iter()
            .map(|(s, want)| match a["epochs"][s].as_u64() {
                Some(e) if e >= *want => format!("{s}={e}"),
                Some(e) => format!("{s}=behind ({e})"),
                None => format!("{s}=-"),
            })
            .collect();
        rows.push([
            format!("{}{}", text(&a["node"]), if leads { " *" } else { "" }),
            role.to_owned(),
            state.to_owned(),
            epochs.join(" "),
        ]);
    }
    format!("\n{}", table(&rows))
}

/// `route crm: failed: …` / `not verified: …` for each enactor result that is not clean.
fn enactment_problems(services: &[Value]) -> String {
    let mut out = String::new();
    for s in services {
        let Some(per) = s.get("enactment").and_then(Value::as_object) else {
            continue;
        };
        for (enactor, a) in per {
            let name = text(s.get("name").unwrap_or(&Value::Null));
            if let Some(e) = a.get("error").and_then(Value::as_str) {
                out.push_str(&format!("{enactor} {name}: failed: {e}\n"));
            } else if a["verification"]["state"] == "failed" {
                let why = text(&a["verification"]["why"]);
                out.push_str(&format!("{enactor} {name}: not verified: {why}\n"));
            }
        }
    }
    out
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, (w, c)) in widths.iter().zip(r).enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn local_ms(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One row per notable audit record, newest first: `WHEN SERVICE KIND WHAT` in plain words
/// (observations and ticks are left out; `--json` has everything).
pub(crate) fn history(answer: &Value) -> String {
    let empty = Vec::new();
    let records = answer
        .get("records")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut rows = vec![["WHEN", "SERVICE", "KIND", "WHAT"].map(str::to_owned)];
    for r in records {
        let Ok(rec) = serde_json::from_value::<crate::policy::AuditRecord>(r.clone()) else {
            continue;
        };
        if let Some(said) = crate::api::describe(&rec) {
            let service = if said.service.is_empty() {
                "-".to_owned()
            } else {
                said.service
            };
            rows.push([local_ms(said.at), service, said.kind.to_owned(), said.text]);
        }
    }
    if rows.len() == 1 {
        return "(no records)\n".to_owned();
    }
    table(&rows)
}

/// One row per probe node: `PROBE DOMAIN STATE AGE` then what it sees per site and layer.
pub(crate) fn votes(answer: &Value) -> String {
    let empty = Vec::new();
    let nodes = answer
        .get("nodes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut rows = vec![["PROBE", "DOMAIN", "STATE", "AGE", "SEES"].map(str::to_owned)];
    for n in nodes {
        let f = |k: &str| text(n.get(k).unwrap_or(&Value::Null));
        let age = n
            .get("age_ms")
            .and_then(Value::as_u64)
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let mut state = f("state");
        if let Some(d) = n.get("self_detail").and_then(Value::as_str) {
            state = format!("{state} ({d})");
        }
        let sees = n
            .get("sites")
            .and_then(Value::as_object)
            .map(|sites| {
                sites
                    .iter()
                    .map(|(site, v)| {
                        let l = |k: &str| text(v.get(k).unwrap_or(&Value::Null));
                        format!(
                            "{site}: app {} host {} link {}",
                            l("app"),
                            l("host"),
                            l("link")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        rows.push([f("node"), f("domain"), state, age, sees]);
    }
    if let Some(silent) = answer.get("silent").and_then(Value::as_array) {
        for s in silent {
            rows.push([
                text(s),
                "-".into(),
                "silent".into(),
                "-".into(),
                "never heard from".into(),
            ]);
        }
    }
    if rows.len() == 1 {
        return "(no votes)\n".to_owned();
    }
    table(&rows)
}

/// A drill's report (the answer of `drill`), in short.
pub(crate) fn drill(answer: &Value) -> String {
    let d = answer.get("drill").unwrap_or(answer);
    let f = |k: &str| text(d.get(k).unwrap_or(&Value::Null));
    let mut out = format!(
        "drill {}: {} {} -> {} -> {}: {}\n",
        f("id"),
        f("service"),
        f("from"),
        f("to"),
        f("from"),
        f("outcome")
    );
    let _ = writeln!(
        out,
        "  network-layer RTO: switchover {} ms, switch back {} ms",
        f("rto_ms"),
        f("back_rto_ms")
    );
    if let Some(phases) = d.get("phases").and_then(Value::as_array) {
        for p in phases {
            let g = |k: &str| text(p.get(k).unwrap_or(&Value::Null));
            let _ = writeln!(
                out,
                "  {:<10} {:>7} ms  {}",
                g("name"),
                g("took_ms"),
                g("detail")
            );
        }
    }
    if let Some(fails) = d.get("failures").and_then(Value::as_array) {
        for x in fails {
            let _ = writeln!(out, "  FAILED: {}", text(x));
        }
    }
    out
}

/// `drills`: one row per drill, newest first.
pub(crate) fn drills(answer: &Value) -> String {
    let empty = Vec::new();
    let list = answer
        .get("drills")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut rows = vec![
        [
            "STARTED", "ID", "SERVICE", "ROUTE", "BY", "OUTCOME", "RTO", "BACK",
        ]
        .map(str::to_owned),
    ];
    for d in list {
        let f = |k: &str| text(d.get(k).unwrap_or(&Value::Null));
        let started = d
            .get("started_at")
            .and_then(Value::as_u64)
            .map(local_ms)
            .unwrap_or_default();
        rows.push([
            started,
            f("id"),
            f("service"),
            format!("{}>{}>{}", f("from"), f("to"), f("from")),
            f("by"),
            f("outcome"),
            format!("{} ms", f("rto_ms")),
            format!("{} ms", f("back_rto_ms")),
        ]);
    }
    if rows.len() == 1 {
        return "(no drills)\n".to_owned();
    }
    table(&rows)
}

/// A write's answer: the service's status after the command.
pub(crate) fn done(answer: &Value) -> String {
    let s = answer.get("service").unwrap_or(answer);
    let f = |k: &str| text(s.get(k).unwrap_or(&Value::Null));
    format!(
        "{}: active {} epoch {} mode {} pending {} maintenance {}\n",
        f("name"),
        f("active_site"),
        f("epoch"),
        f("mode"),
        pending(s.get("pending").unwrap_or(&Value::Null)),
        f("maintenance")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_table_has_a_row_per_service() {
        let out = status(&json!({"services": [
            {"name": "crm", "active_site": "sh", "epoch": 3, "mode": "auto", "pending": null,
             "maintenance": false, "degraded": true, "flapping": true,
             "reason": "operator: drill"}
        ]}));
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[1].starts_with("crm "), "{out}");
        assert!(
            lines[1].contains(" sh ") && lines[1].contains(" 3 "),
            "{out}"
        );
        assert!(lines[1].ends_with("operator: drill"), "{out}");
        assert!(lines[0].contains("FLAPPING"), "{out}");
        assert_eq!(
            lines[1].matches(" yes ").count(),
            2,
            "degraded and flapping: {out}"
        );
    }

    #[test]
    fn status_lists_authorities_with_leader_epochs_and_staleness() {
        let out = status(&json!({
            "services": [{"name": "crm", "active_site": "sh", "epoch": 3}],
            "cluster": {"role": "follower", "authorities": [
                {"node": "a1", "leader": false, "stale": true, "gone": false, "epochs": {"crm": 2}},
                {"node": "a2", "leader": true, "stale": false, "gone": false, "epochs": {"crm": 3}},
                {"node": "a3", "leader": false, "stale": false, "gone": true, "epochs": {"crm": 3}}
            ]}
        }));
        let lines: Vec<_> = out.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                "AUTHORITY  ROLE      STATE  EPOCHS",
                "a1         follower  stale  crm=behind (2)",
                "a2 *       leader    ok     crm=3",
                "a3         follower  gone   crm=3"
            ],
            "{out}"
        );
    }

    #[test]
    fn history_is_a_table_in_words() {
        let out = history(&json!({"records": [
            {"at": 0, "input": "tick"},
            {"at": 1000, "input": {"command": {"approve": {"service": "crm", "by": "alice"}}}}
        ]}));
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].starts_with("WHEN"), "{out}");
        assert!(
            lines[1].starts_with("1970-01-01T00:00:01Z  crm")
                && lines[1].ends_with("alice approved the pending switch"),
            "{out}"
        );
    }

    #[test]
    fn status_lists_enactment_problems() {
        let out = status(&json!({"services": [
            {"name": "crm", "active_site": "sh", "epoch": 3, "enactment": {
                "dns": {"error": null, "verification": {"state": "not_checked"}},
                "route": {"error": "unknown interface `eth9`", "verification": {"state": "not_checked"}}}},
            {"name": "erp", "active_site": "sh", "epoch": 3, "enactment": {
                "route": {"error": null, "verification": {"state": "failed", "why": "no route"}}}}
        ]}));
        let lines: Vec<_> = out.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                "route crm: failed: unknown interface `eth9`",
                "route erp: not verified: no route"
            ],
            "{out}"
        );
    }

    #[test]
    fn votes_table_shows_each_probe() {
        let out = votes(
            &json!({"nodes": [{"node": "p1", "domain": "bj", "state": "counting",
            "age_ms": 1200, "sites": {"bj": {"app": "down", "host": "up", "link": "up"}}}],
            "silent": ["p2"]}),
        );
        assert!(
            out.contains("p1") && out.contains("bj: app down host up link up"),
            "{out}"
        );
        assert!(
            out.contains("p2") && out.contains("never heard from"),
            "{out}"
        );
    }
}
