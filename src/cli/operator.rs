//! The operator verbs: one admin API call each, rendered for humans or as raw JSON.

use super::render;
use super::{AdminClient, AlertCommand, CliError, Command, OnOff};
use serde_json::json;
use std::time::Duration;

/// Percent-encode one path segment or query value (ids are usually plain, but be safe).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Run one operator verb against the admin API; returns the text to print.
pub async fn run_operator(cmd: &Command) -> Result<String, CliError> {
    let (admin, answer, kind) = match cmd {
        Command::Status { admin } => {
            let c = AdminClient::from_args(admin)?;
            (admin, c.get("/v1/status").await?, Kind::Status)
        }
        Command::Votes { admin } => {
            let c = AdminClient::from_args(admin)?;
            (admin, c.get("/v1/votes").await?, Kind::Votes)
        }
        Command::History {
            service,
            limit,
            admin,
        } => {
            let c = AdminClient::from_args(admin)?;
            let mut path = format!("/v1/history?limit={limit}");
            if let Some(s) = service {
                path.push_str(&format!("&service={}", enc(s)));
            }
            (admin, c.get(&path).await?, Kind::History)
        }
        Command::Switch {
            service,
            to,
            reason,
            force,
            admin,
        } => {
            let body = json!({"to": to, "reason": reason, "force": force});
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/switch", enc(service));
            let answer = c.post(&path, &body).await;
            let answer = answer.map_err(|e| hint_force(e, *force));
            (admin, explain_unknown(&c, answer).await?, Kind::Done)
        }
        Command::Approve { service, admin } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/approve", enc(service));
            let answer = c.post(&path, &json!({})).await;
            (admin, explain_unknown(&c, answer).await?, Kind::Done)
        }
        Command::Reject { service, admin } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/reject", enc(service));
            let answer = c.post(&path, &json!({})).await;
            (admin, explain_unknown(&c, answer).await?, Kind::Done)
        }
        Command::Maintenance {
            service,
            state,
            admin,
        } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/maintenance", enc(service));
            let body = json!({"on": *state == OnOff::On});
            let answer = c.post(&path, &body).await;
            (admin, explain_unknown(&c, answer).await?, Kind::Done)
        }
        Command::Readmit {
            service,
            site,
            admin,
        } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/readmit", enc(service));
            let answer = c.post(&path, &json!({"site": site})).await;
            (admin, explain_unknown(&c, answer).await?, Kind::Done)
        }
        Command::Drill {
            service,
            to,
            hold,
            no_wait,
            admin,
        } => {
            let wait = humantime::parse_duration(hold).unwrap_or_default();
            let c = AdminClient::from_args(admin)?
                .with_timeout(wait + crate::drill::ENACT_TIMEOUT * 2 + Duration::from_secs(30));
            let path = format!("/v1/services/{}/drill", enc(service));
            let mut body = json!({"hold": hold, "wait": !no_wait});
            if let Some(to) = to {
                body["to"] = json!(to);
            }
            let answer = c.post(&path, &body).await;
            (admin, explain_unknown(&c, answer).await?, Kind::Drill)
        }
        Command::Drills { admin } => {
            let c = AdminClient::from_args(admin)?;
            (admin, c.get("/v1/drills").await?, Kind::Drills)
        }
        Command::Reload { admin } => {
            let c = AdminClient::from_args(admin)?;
            (admin, c.post("/v1/reload", &json!({})).await?, Kind::Reload)
        }
        Command::Serve(_) => return Err(CliError::NotOperator("serve")),
        Command::Check { .. } => return Err(CliError::NotOperator("check")),
        Command::Probe { .. } => return Err(CliError::NotOperator("probe")),
        Command::Alert {
            command: AlertCommand::Ack { key, admin },
        } => {
            let c = AdminClient::from_args(admin)?;
            let answer = c.post("/v1/alerts/ack", &json!({"key": key})).await?;
            (admin, answer, Kind::Ack)
        }
        Command::Alert { .. } => return Err(CliError::NotOperator("alert test")),
    };
    if admin.json {
        return Ok(serde_json::to_string_pretty(&answer).unwrap_or_default());
    }
    Ok(match kind {
        Kind::Status => render::status(&answer),
        Kind::History => render::history(&answer),
        Kind::Done => render::done(&answer),
        Kind::Votes => render::votes(&answer),
        Kind::Drill => render::drill(&answer),
        Kind::Drills => render::drills(&answer),
        Kind::Reload => "reload accepted: the node restarts its roles with the new config\n".into(),
        Kind::Ack => format!(
            "acknowledge of {} by {} queued: sent once to every sink that takes it, if the \
             condition is open\n",
            answer["key"].as_str().unwrap_or("?"),
            answer["by"].as_str().unwrap_or("?")
        ),
    })
}

enum Kind {
    Status,
    History,
    Done,
    Votes,
    Drill,
    Drills,
    Reload,
    Ack,
}

/// A switch refused because the target is not up says how to insist.
fn hint_force(e: CliError, force: bool) -> CliError {
    match e {
        CliError::Api {
            url,
            status: 409,
            message,
        } if !force && message.contains("not seen up") => CliError::Api {
            url,
            status: 409,
            message: format!("{message} (add --force to switch anyway)"),
        },
        e => e,
    }
}

/// An unknown service (404) lists the configured ones.
async fn explain_unknown(
    c: &AdminClient,
    answer: Result<serde_json::Value, CliError>,
) -> Result<serde_json::Value, CliError> {
    match answer {
        Err(CliError::Api {
            url,
            status: 404,
            message,
        }) => {
            let known: Vec<String> = c
                .get("/v1/status")
                .await
                .ok()
                .and_then(|v| {
                    v["services"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|s| s["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default();
            Err(CliError::Api {
                url,
                status: 404,
                message: format!("{message} (configured: {})", known.join(", ")),
            })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::enc;

    #[test]
    fn encodes_path_segments() {
        assert_eq!(enc("crm"), "crm");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
    }
}
