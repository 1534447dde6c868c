//! The operator verbs: one admin API call each, rendered for humans or as raw JSON.

use super::render;
use super::{AdminClient, CliError, Command, OnOff};
use serde_json::json;

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
            (admin, c.get("/v1/votes").await?, Kind::Raw)
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
            (admin, c.post(&path, &body).await?, Kind::Done)
        }
        Command::Approve { service, admin } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/approve", enc(service));
            (admin, c.post(&path, &json!({})).await?, Kind::Done)
        }
        Command::Reject { service, admin } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/reject", enc(service));
            (admin, c.post(&path, &json!({})).await?, Kind::Done)
        }
        Command::Maintenance {
            service,
            state,
            admin,
        } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/maintenance", enc(service));
            let body = json!({"on": *state == OnOff::On});
            (admin, c.post(&path, &body).await?, Kind::Done)
        }
        Command::Readmit {
            service,
            site,
            admin,
        } => {
            let c = AdminClient::from_args(admin)?;
            let path = format!("/v1/services/{}/readmit", enc(service));
            (
                admin,
                c.post(&path, &json!({"site": site})).await?,
                Kind::Done,
            )
        }
        Command::Serve(_) => return Err(CliError::NotOperator("serve")),
        Command::Check { .. } => return Err(CliError::NotOperator("check")),
        Command::Probe { .. } => return Err(CliError::NotOperator("probe")),
        Command::Alert { .. } => return Err(CliError::NotOperator("alert")),
    };
    if admin.json {
        return Ok(serde_json::to_string_pretty(&answer).unwrap_or_default());
    }
    Ok(match kind {
        Kind::Status => render::status(&answer),
        Kind::History => render::history(&answer),
        Kind::Done => render::done(&answer),
        Kind::Raw => serde_json::to_string_pretty(&answer).unwrap_or_default(),
    })
}

enum Kind {
    Status,
    History,
    Done,
    Raw,
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
