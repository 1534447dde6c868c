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
            "SERVICE", "ACTIVE", "EPOCH", "MODE", "PENDING", "MAINT", "DEGRADED", "REASON",
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
            f("reason"),
        ]);
    }
    table(&rows) + &enactment_problems(services)
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

/// One line per audit record, newest first: time, then the record's JSON without `at`.
pub(crate) fn history(answer: &Value) -> String {
    let empty = Vec::new();
    let records = answer
        .get("records")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut out = String::new();
    for r in records {
        let at = r
            .get("at")
            .and_then(Value::as_u64)
            .map(|ms| {
                let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
                humantime::format_rfc3339_millis(t).to_string()
            })
            .unwrap_or_else(|| "-".to_owned());
        let mut rest = r.clone();
        if let Some(obj) = rest.as_object_mut() {
            obj.remove("at");
        }
        let _ = writeln!(out, "{at}  {rest}");
    }
    if out.is_empty() {
        out.push_str("(no records)\n");
    }
    out
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
             "maintenance": false, "degraded": true, "reason": "operator: drill"}
        ]}));
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[1].starts_with("crm "), "{out}");
        assert!(
            lines[1].contains(" sh ") && lines[1].contains(" 3 "),
            "{out}"
        );
        assert!(lines[1].ends_with("operator: drill"), "{out}");
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
    fn history_prints_time_first() {
        let out = history(&json!({"records": [{"at": 0, "input": "tick"}]}));
        assert_eq!(out, "1970-01-01T00:00:00.000Z  {\"input\":\"tick\"}\n");
    }
}
