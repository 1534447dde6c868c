//! Stand-in site endpoints for the loopback demo (`switchback serve` with no `-c`).
//!
//! Each demo site gets a tiny HTTP server that answers `GET /health` with 200 while the site is
//! "up" and 503 once failed, so the demo's real probes have something real to check. A newcomer
//! fails the demo primary with `curl -X POST http://127.0.0.1:18081/fail` and brings it back with
//! `/recover`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// One stand-in site: its name and where its health endpoint listens.
#[derive(Clone, Debug)]
pub struct StandIn {
    /// Demo site id, e.g. `bj`.
    pub site: String,
    /// Listen address of its health endpoint.
    pub listen: SocketAddr,
}

/// The demo's fixed stand-ins, matching `deploy/demo/probes.toml`.
pub fn default_stand_ins() -> Vec<StandIn> {
    vec![
        StandIn {
            site: "bj".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 18081)),
        },
        StandIn {
            site: "sh".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 18082)),
        },
    ]
}

/// A stand-in endpoint that could not start.
#[derive(Debug, thiserror::Error)]
#[error("demo stand-in for site {site} cannot listen on {listen}: {source}")]
pub struct DemoError {
    /// The demo site.
    pub site: String,
    /// The address it wanted.
    pub listen: SocketAddr,
    /// Why binding failed.
    #[source]
    pub source: std::io::Error,
}

#[derive(Clone)]
struct SiteState {
    site: Arc<str>,
    up: Arc<AtomicBool>,
}

/// Binds every stand-in and serves them until `shutdown` is cancelled.
pub async fn start(
    stand_ins: &[StandIn],
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinSet<()>, DemoError> {
    let mut tasks = tokio::task::JoinSet::new();
    for s in stand_ins {
        let listener = TcpListener::bind(s.listen)
            .await
            .map_err(|source| DemoError {
                site: s.site.clone(),
                listen: s.listen,
                source,
            })?;
        let state = SiteState {
            site: s.site.as_str().into(),
            up: Arc::new(AtomicBool::new(true)),
        };
        let app = Router::new()
            .route("/health", get(health))
            .route("/fail", post(fail))
            .route("/recover", post(recover))
            .with_state(state);
        tracing::info!(site = %s.site, listen = %s.listen, "demo site stand-in listening");
        let token = shutdown.clone();
        tasks.spawn(
            async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(token.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "demo stand-in stopped");
                }
            }
            .instrument(tracing::info_span!("demo", site = %s.site)),
        );
    }
    Ok(tasks)
}

async fn health(State(s): State<SiteState>) -> (StatusCode, String) {
    if s.up.load(Ordering::Relaxed) {
        (StatusCode::OK, format!("{} ok\n", s.site))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} failed (demo)\n", s.site),
        )
    }
}

async fn fail(State(s): State<SiteState>) -> String {
    s.up.store(false, Ordering::Relaxed);
    tracing::warn!(site = %s.site, "demo site failed by operator");
    format!("{} is now failing its health checks\n", s.site)
}

async fn recover(State(s): State<SiteState>) -> String {
    s.up.store(true, Ordering::Relaxed);
    tracing::info!(site = %s.site, "demo site recovered by operator");
    format!("{} is healthy again\n", s.site)
}
