//! Sinks: where one sink's events go. Each delivery is one attempt that the sink
//! acknowledges (HTTP 2xx, exit status 0) or refuses; the worker retries.

mod alertmanager;
mod exec;
mod pagerduty;
mod webhook;

use super::event::AlertEvent;
use crate::config::{AlertSink, SinkKind};
use std::path::PathBuf;

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver could not be reached or timed out.
    #[error("POST {url}: {source}")]
    Http {
        /// Where.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The receiver answered, but not 2xx.
    #[error("POST {url}: HTTP {status}: {body}")]
    Status {
        /// Where.
        url: String,
        /// Its status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// The command could not run, failed or timed out.
    #[error("exec {program}: {problem}")]
    Exec {
        /// The program.
        program: String,
        /// What went wrong.
        problem: String,
    },
}

/// A secret file (HMAC secret, routing key) could not be read at start.
#[derive(Debug, thiserror::Error)]
#[error("alert sink {sink}: cannot read {path}: {source}")]
pub struct SecretError {
    /// The sink.
    pub sink: String,
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// One configured sink, ready to deliver.
#[derive(Debug)]
pub struct Sink {
    /// Its config.
    pub cfg: AlertSink,
    target: Target,
}

#[derive(Debug)]
enum Target {
    Webhook(webhook::Webhook),
    Alertmanager(alertmanager::Alertmanager),
    Pagerduty(pagerduty::Pagerduty),
    Exec(exec::Exec),
    /// Unit tests of the worker's timing: answers from a script, records when it was asked.
    #[cfg(test)]
    Scripted(Scripted),
}

/// A scripted receiver for paused-clock tests: `true` acknowledges, `false` refuses; an
/// exhausted script acknowledges.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Scripted {
    pub(crate) answers: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<bool>>>,
    pub(crate) asked: std::sync::Arc<std::sync::Mutex<Vec<(tokio::time::Instant, String)>>>,
}

fn read_secret(sink: &str, path: &PathBuf) -> Result<String, SecretError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|source| SecretError {
            sink: sink.to_owned(),
            path: path.clone(),
            source,
        })
}

impl Sink {
    /// Build a sink, reading its secret files.
    pub fn new(cfg: AlertSink) -> Result<Sink, SecretError> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .unwrap_or_default();
        let target = match &cfg.kind {
            SinkKind::Webhook {
                url,
                headers,
                hmac_secret_file,
            } => Target::Webhook(webhook::Webhook {
                client,
                url: url.clone(),
                headers: headers.clone(),
                secret: hmac_secret_file
                    .as_ref()
                    .map(|f| read_secret(&cfg.name, f))
                    .transpose()?,
            }),
            SinkKind::Alertmanager { url } => Target::Alertmanager(alertmanager::Alertmanager {
                client,
                url: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
            }),
            SinkKind::Pagerduty {
                routing_key_file,
                url,
            } => Target::Pagerduty(pagerduty::Pagerduty {
                client,
                url: url.clone(),
                routing_key: read_secret(&cfg.name, routing_key_file)?,
            }),
            SinkKind::Exec { command } => Target::Exec(exec::Exec {
                command: command.clone(),
                timeout: cfg.timeout,
            }),
        };
        Ok(Sink { cfg, target })
    }

    /// Whether this sink takes `e`: its filter passes it, and it is not an acknowledge bound
    /// for Alertmanager, which has no such thing (silences are its operators' tool).
    pub fn takes(&self, e: &super::event::AlertEvent) -> bool {
        let ack_to_am = e.action == super::event::Action::Acknowledge
            && matches!(self.target, Target::Alertmanager(_));
        e.passes(&self.cfg.filter) && !ack_to_am
    }

    /// One attempt to hand `e` to the receiver.
    pub async fn deliver(&self, e: &AlertEvent) -> Result<(), DeliveryError> {
        match &self.target {
            Target::Webhook(w) => w.deliver(e).await,
            Target::Alertmanager(a) => a.deliver(e).await,
            Target::Pagerduty(p) => p.deliver(e).await,
            Target::Exec(x) => x.deliver(e).await,
            #[cfg(test)]
            Target::Scripted(s) => {
                s.asked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((tokio::time::Instant::now(), e.key.clone()));
                let ok = s
                    .answers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front()
                    .unwrap_or(true);
                if ok {
                    Ok(())
                } else {
                    Err(DeliveryError::Exec {
                        program: "scripted".into(),
                        problem: "refused".into(),
                    })
                }
            }
        }
    }

    /// A sink answering from `script` (tests of the worker's timing).
    #[cfg(test)]
    pub(crate) fn scripted(cfg: AlertSink, script: Scripted) -> Sink {
        Sink {
            cfg,
            target: Target::Scripted(script),
        }
    }
}

/// POST `body` as JSON with `headers`; Ok on 2xx.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(String, String)],
) -> Result<(), DeliveryError> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let http = |source| DeliveryError::Http {
        url: url.to_owned(),
        source,
    };
    let resp = req.send().await.map_err(http)?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = resp.text().await.unwrap_or_default();
    body.truncate(200);
    Err(DeliveryError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        body,
    })
}
