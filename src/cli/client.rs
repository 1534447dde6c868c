//! [`AdminClient`]: a small reqwest client for a node's admin API (JSON in, JSON out).

use super::{AdminArgs, CliError};
use serde_json::Value;
use std::time::Duration;

/// Who runs this command, for the audit trail: `--by`, else the login name (`$USER`,
/// `$LOGNAME`, the passwd entry of this uid), else `cli`.
fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            ["USER", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        })
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "cli".to_owned())
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

/// Talks to one node's admin API.
#[derive(Clone, Debug)]
pub struct AdminClient {
    base: String,
    token: Option<String>,
    by: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for `args.admin`, with the token from `--token` or `--token-file` if any.
    pub fn from_args(args: &AdminArgs) -> Result<Self, CliError> {
        let token = match (&args.token, &args.token_file) {
            (Some(t), _) => Some(t.trim().to_owned()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| CliError::TokenFile {
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let mut c = Self::new(&args.admin, token);
        c.by = operator(args.by.as_deref());
        Ok(c)
    }

    /// The same client with a longer request timeout (a drill that is waited for).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Ok(http) = reqwest::Client::builder().timeout(timeout).build() {
            self.http = http;
        }
        self
    }

    /// A client for `base` (e.g. `http://127.0.0.1:9530`) with an optional bearer token.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            // Building only fails when the TLS backend cannot initialise; fall back to defaults.
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            by: operator(None),
            http,
        }
    }

    /// GET `path` and return its JSON.
    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        let url = format!("{}{path}", self.base);
        let req = self.http.get(&url);
        Self::send(url, req).await
    }

    /// POST `body` as JSON to `path` with the bearer token; return the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let token = self.token.as_deref().ok_or(CliError::NoToken)?;
        let url = format!("{}{path}", self.base);
        let req = self
            .http
            .post(&url)
            .bearer_auth(token)
            .header("x-switchback-operator", &self.by)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        Self::send(url, req).await
    }

    async fn send(url: String, req: reqwest::RequestBuilder) -> Result<Value, CliError> {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(source) => return Err(CliError::Http { url, source }),
        };
        let status = resp.status();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(source) => return Err(CliError::Http { url, source }),
        };
        let json = serde_json::from_str::<Value>(&text);
        if !status.is_success() {
            let message = json
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(text);
            return Err(CliError::Api {
                url,
                status: status.as_u16(),
                message,
            });
        }
        json.map_err(|e| CliError::BadAnswer {
            url,
            detail: e.to_string(),
        })
    }
}
