//! Admin HTTP API (axum). Reads are open; writes need `Authorization: Bearer <token>`
//! (`[admin] token_file`). Every error is JSON `{"error": "..."}` with a fitting status.
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | GET | `/` | dashboard page (one HTML file; polls `/v1/dashboard`) |
//! | GET | `/v1/dashboard?wait=` | the dashboard's document, with `ETag` (304 when unchanged; `wait=ETAG` long-polls) |
//! | GET | `/v1/services/{name}` | one service: status, enactment per enactor, drills, timeline |
//! | POST | `/v1/services/{name}/drill` | `{to?, hold?, wait?}` run a drill (token) |
//! | GET | `/v1/drills` | running and finished drills, newest first |
//! | GET | `/v1/drills/{id}` | one drill's report |
//! | POST | `/v1/alerts/ack` | `{key}` acknowledge an open alert condition at the pager (token; 202) |
//! | POST | `/v1/reload` | re-read and validate the config; refused with `check`'s messages (token) |
//! | GET | `/ready` | 200 once the node has loaded and committed its state (one-way latch) and is not cut off from its cluster, else 503 |
//! | GET | `/metrics` | Prometheus text: checks, verdicts, probes, decisions, epochs, enactment, DNS by rcode, drills |
//! | GET | `/v1/status` | `{services:[{name, active_site, epoch, mode, pending, sites, maintenance, degraded, reason}], cluster:{node, role, leader, stale, stale_since, authorities:[{node, admin, leader, stale, stale_since, gone, version, epochs}]}}` |
//! | GET | `/v1/votes` | the latest observation per probe and how it counts |
//! | GET | `/v1/checks` | `{checks:[..]}` this node's own checks: state, last error, last RTT, last change |
//! | GET | `/v1/history?service=&limit=` | `{records:[..]}` audit records, newest first |
//! | POST | `/v1/services/{name}/switch` | `{to, reason, force?}` move the service (token) |
//! | POST | `/v1/services/{name}/approve` | approve the pending switch (token) |
//! | POST | `/v1/services/{name}/reject` | reject the pending switch (token) |
//! | POST | `/v1/services/{name}/maintenance` | `{on}` freeze/unfreeze (token) |
//! | POST | `/v1/services/{name}/readmit` | `{site}` re-admit a held-out site (token) |
//! | POST | `/v1/commands` | a `policy::Command` as JSON (token); what followers forward to the leader |
//! | POST | `/v1/observations` | a `SignedObservation` from a probe node (HMAC-verified, not token) |
//!
//! Writes answer with the service's status after the command and the node that committed it:
//! `{service: {...}, committed_by}`; a follower (cluster store) forwards them to the leader.
//! Statuses: 401 no/wrong token, 404 unknown service, 400 bad body or unknown site,
//! 409 nothing pending or target not up, 503 shutting down, 500 store failure.

mod alerts;
mod auth;
mod cluster;
mod console;
mod drill;
mod error;
mod exposition;
mod forward;
mod listen;
mod observe;
mod read;
mod ready;
mod reload;
mod words;
mod write;

pub use auth::Token;
pub use console::Console;
pub use error::ApiError;
pub use listen::{Limits, bind};
pub use ready::Readiness;
pub use reload::arm_reload;
pub use words::{Said, describe};

use crate::config::Config;
use crate::decide::{Clock, DecisionHandle};
use crate::metrics::Metrics;
use crate::probe::StatusHandle;
use crate::store::{AuditLog, Standing, VoteBoard};
use crate::tally::Verifier;
use axum::Router;
use axum::routing::{get, post};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Everything the handlers share.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

/// What the handlers are built from.
pub struct Parts {
    /// The node's config.
    pub cfg: Arc<Config>,
    /// The decision loop.
    pub decide: DecisionHandle,
    /// Where history is read.
    pub audit: Arc<dyn AuditLog>,
    /// Where verified votes are published.
    pub votes: Arc<dyn VoteBoard>,
    /// Checks pushed votes at the door (the leader checks them again).
    pub verifier: Verifier,
    /// The bearer token for writes.
    pub token: Token,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// The readiness latch.
    pub readiness: Readiness,
    /// The node's clock.
    pub clock: Clock,
    /// This node's own checks (a node with the probe role).
    pub checks: Option<StatusHandle>,
    /// This node's standing in the cluster (stale, leader).
    pub standing: watch::Receiver<Standing>,
    /// What each enactor last did per service (`enactment` in status).
    pub reports: crate::enact::Reports,
    /// The operator's console: enactment reports, drills, timeline.
    pub console: Console,
    /// Raises alerts (operator acknowledgements).
    pub raise: crate::alert::Raise,
}

struct Inner {
    cfg: Arc<Config>,
    decide: DecisionHandle,
    audit: Arc<dyn AuditLog>,
    votes: Arc<dyn VoteBoard>,
    verifier: Mutex<Verifier>,
    token: Token,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    clock: Clock,
    checks: Option<StatusHandle>,
    standing: watch::Receiver<Standing>,
    reports: crate::enact::Reports,
    console: Console,
    raise: crate::alert::Raise,
}

impl ApiState {
    /// Bundle the handlers' shared state.
    pub fn new(parts: Parts) -> Self {
        let Parts {
            cfg,
            decide,
            audit,
            votes,
            verifier,
            token,
            metrics,
            readiness,
            clock,
            checks,
            standing,
            reports,
            console,
            raise,
        } = parts;
        Self {
            inner: Arc::new(Inner {
                cfg,
                decide,
                audit,
                votes,
                verifier: Mutex::new(verifier),
                token,
                metrics,
                readiness,
                clock,
                checks,
                standing,
                reports,
                console,
                raise,
            }),
        }
    }
}

/// The admin router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(read::dashboard))
        .route("/ready", get(read::ready))
        .route("/metrics", get(read::metrics))
        .route("/v1/status", get(read::status))
        .route("/v1/votes", get(read::votes))
        .route("/v1/checks", get(read::checks))
        .route("/v1/history", get(read::history))
        .route("/v1/services/{name}/switch", post(write::switch))
        .route("/v1/services/{name}/approve", post(write::approve))
        .route("/v1/services/{name}/reject", post(write::reject))
        .route("/v1/services/{name}/maintenance", post(write::maintenance))
        .route("/v1/services/{name}/readmit", post(write::readmit))
        .route("/v1/commands", post(write::command))
        .route("/v1/observations", post(observe::observation))
        .route("/v1/dashboard", get(console::dashboard))
        .route("/v1/services/{name}", get(console::service))
        .route("/v1/services/{name}/drill", post(drill::start))
        .route("/v1/drills", get(drill::list))
        .route("/v1/drills/{id}", get(drill::one))
        .route("/v1/reload", post(reload::reload))
        .route("/v1/alerts/ack", post(alerts::ack))
        .with_state(state)
}

/// Serve the admin API on `listener` until `shutdown` is cancelled (graceful), under the
/// connection, timeout and body [`Limits`].
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    listen::serve(listener, router(state), Limits::default(), shutdown).await
}
