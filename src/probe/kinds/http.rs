//! `http`/`https` checks over pooled reqwest clients (one per distinct TLS setting).

use super::{Outcome, Shared, io_evidence};
use crate::model::CheckName;
use crate::probe::ProbeError;
use crate::probe::defs::HttpSpec;
use crate::probe::evidence::Evidence;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Most body bytes read when a body check needs them.
const BODY_CAP: usize = 64 * 1024;

/// What makes two HTTP checks need different clients.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    verify: bool,
    ca_file: Option<PathBuf>,
}

impl ClientKey {
    pub(crate) fn of(spec: &HttpSpec) -> Self {
        ClientKey {
            verify: spec.tls_verify,
            ca_file: spec.ca_file.clone(),
        }
    }
}

/// A pooled client: no proxies from the environment, no redirects (a health endpoint that
/// redirects is judged by its own status), extra CA when configured.
pub(crate) fn client(check: &CheckName, key: &ClientKey) -> Result<reqwest::Client, ProbeError> {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(8)
        .pool_idle_timeout(Duration::from_secs(30))
        .danger_accept_invalid_certs(!key.verify);
    if let Some(path) = &key.ca_file {
        let pem = std::fs::read(path).map_err(|source| ProbeError::CaFile {
            check: check.clone(),
            path: path.clone(),
            reason: source.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ProbeError::CaFile {
                check: check.clone(),
                path: path.clone(),
                reason: e.to_string(),
            })?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| ProbeError::HttpClient {
        check: check.clone(),
        reason: e.to_string(),
    })
}

/// One request; up when the status is expected and the body checks (if any) pass.
pub(crate) async fn run(shared: &Shared, spec: &HttpSpec, timeout: Duration) -> Outcome {
    let Some(client) = shared.http.get(&ClientKey::of(spec)) else {
        return Outcome::local("no HTTP client for this TLS setting");
    };
    let method =
        reqwest::Method::from_bytes(spec.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = client.request(method, &spec.url).timeout(timeout);
    if let Some(host) = &spec.host {
        req = req.header(reqwest::header::HOST, host);
    }
    let start = Instant::now();
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::failed(evidence(&e), None, error_text(&e)),
    };
    let rtt = Some(start.elapsed());
    let status = resp.status();
    if !spec.expect_status.contains(&status.as_u16()) {
        return Outcome::fail(
            rtt,
            format!("status {status}, expected {:?}", spec.expect_status),
        );
    }
    if spec.body.is_none() && spec.body_regex.is_none() {
        return Outcome::pass(rtt, format!("status {status}"));
    }
    let mut body = Vec::new();
    while body.len() < BODY_CAP {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c[..c.len().min(BODY_CAP - body.len())]),
            Ok(None) => break,
            Err(e) => {
                return Outcome::failed(
                    evidence(&e),
                    rtt,
                    format!("reading body: {}", error_text(&e)),
                );
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    if let Some(want) = &spec.body
        && !text.contains(want.as_str())
    {
        return Outcome::fail(rtt, format!("status {status}, body lacks {want:?}"));
    }
    if let Some(re) = &spec.body_regex
        && !re.is_match(&text)
    {
        return Outcome::fail(rtt, format!("status {status}, body does not match /{re}/"));
    }
    Outcome::pass(rtt, format!("status {status}, body ok"))
}

/// A timeout is silence; refused, reset or unreachable (found among the causes) is the app or
/// its path saying no; any other error after a connection (a broken response) is the app's.
fn evidence(e: &reqwest::Error) -> Evidence {
    // EMFILE and friends, or a failed name lookup on this host: local trouble (issue #13).
    if super::local::chain(e).is_some() {
        return Evidence::Local;
    }
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_evidence(io);
        }
        src = cause.source();
    }
    if e.is_timeout() || e.is_connect() {
        Evidence::Ambiguous
    } else {
        Evidence::Definitive
    }
}

/// The error with its causes, on one line (reqwest's Display hides the cause).
fn error_text(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connect failed".to_owned()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}
