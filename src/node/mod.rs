//! Node wiring: opens the store, starts the roles' tasks, one shutdown path.
//!
//! ```text
//!   POST /v1/observations ──verify (tally::Verifier)──┐
//!   (probe role, integrator) ── observations ─────────┤ mpsc<Observation>
//!                                                     ▼
//!   admin API ── Request::Command + oneshot reply ──▶ decision task ──▶ store (commit, audit)
//!                                                     │  owns policy::Engine; ticks at
//!                                                     │  Engine::next_deadline (sleep_until)
//!                                                     ▼
//!                              watch<Published> (committed decisions, status, votes)
//!                                  │               │
//!                          admin API reads     enactors subscribe (dns, route, alert:
//!                                                integrator)
//!   shutdown: CancellationToken ─▶ every task (JoinSet); drain under GRACE
//! ```
//!
//! [`run`] takes already-bound listeners and a cancellation token, so `serve` and tests share
//! one code path and tests can bind port 0.

mod clock;
mod decide;
mod enact_dns;
mod error;
mod handle;
mod probe_role;
mod signals;

pub use clock::Clock;
pub use error::NodeError;
pub use handle::{CommandFailure, DecisionHandle, Published};
pub use probe_role::ProbeRoleError;
pub use signals::cancel_on_signals;

use crate::api::{self, ApiState, Metrics, Readiness, Token};
use crate::config::{Config, Role, StoreSection};
use crate::dns::DnsServer;
use crate::policy::{AuditRecord, Engine};
use crate::store::{EmbeddedStore, Store};
use crate::tally::Verifier;
use decide::DecisionTask;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span};

/// How long tasks get to finish after shutdown is requested.
pub const GRACE: Duration = Duration::from_secs(5);

/// Sockets bound before [`run`], so callers choose ports (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// The admin HTTP API.
    pub admin: TcpListener,
}

impl Listeners {
    /// Bind every listener the config asks for.
    pub async fn bind(cfg: &Config) -> Result<Self, NodeError> {
        let addr = cfg.admin.listen;
        let admin = TcpListener::bind(addr)
            .await
            .map_err(|source| NodeError::Bind { addr, source })?;
        Ok(Self { admin })
    }
}

fn read_keys(cfg: &Config) -> Result<Vec<Vec<u8>>, NodeError> {
    cfg.votes
        .key_files
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|k| k.trim().as_bytes().to_vec())
                .map_err(|source| NodeError::ReadFile {
                    path: path.clone(),
                    what: "vote key",
                    source,
                })
        })
        .collect()
}

fn read_token(cfg: &Config) -> Result<Token, NodeError> {
    match &cfg.admin.token_file {
        None => {
            tracing::warn!("no [admin] token_file: admin writes are disabled");
            Ok(Token::none())
        }
        Some(path) => Token::from_file(path).map_err(|source| NodeError::ReadFile {
            path: path.clone(),
            what: "admin token",
            source,
        }),
    }
}

/// Open the configured store.
fn open_store(cfg: &Config) -> Result<Arc<dyn Store>, NodeError> {
    match &cfg.store {
        StoreSection::Embedded => Ok(Arc::new(EmbeddedStore::open(&cfg.node.state_dir)?)),
        StoreSection::Etcd { .. } => Err(NodeError::Unsupported("store kind \"etcd\"")),
    }
}

/// Run the node until `shutdown` is cancelled or a task fails.
pub async fn run(
    cfg: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    let clock = Clock::system();
    let metrics = Arc::new(Metrics::default());
    let readiness = Readiness::new();
    let token = read_token(&cfg)?;
    let keys = read_keys(&cfg)?;
    let verifier = Verifier::new(keys.clone(), &cfg.votes.voters, cfg.votes.stale_after);

    // Startup: load what is committed, let the engine take over from it, make its outputs
    // (initial decisions for new services) durable before anything is served.
    let store = open_store(&cfg)?;
    let committed = store.load().await?;
    let now = clock.now();
    let (engine, outputs) = Engine::new(&cfg, committed.clone(), now);
    let initial = Published {
        committed: committed.clone(),
        status: engine.status(),
        votes: engine.votes(),
    };
    let (published_tx, published_rx) = watch::channel(initial);
    let mut records = vec![engine.start_record(now)];
    records.extend(outputs.iter().cloned().map(|o| AuditRecord::output(now, o)));
    let mut task = DecisionTask {
        engine,
        store: Arc::clone(&store),
        clock,
        committed,
        published: published_tx,
        metrics: Arc::clone(&metrics),
    };
    task.persist(records, &outputs).await?;
    for c in task.committed.values() {
        tracing::info!(service = %c.decision.service, active_site = %c.decision.active_site,
            epoch = %c.decision.epoch, "resuming committed decision");
    }

    let (req_tx, req_rx) = mpsc::channel(64);
    let (obs_tx, obs_rx) = mpsc::channel(1024);
    let handle = DecisionHandle {
        requests: req_tx,
        observations: obs_tx,
        published: published_rx,
    };

    let mut tasks: JoinSet<Result<(), NodeError>> = JoinSet::new();
    let token_dec = shutdown.clone();
    tasks.spawn(
        async move {
            task.run(req_rx, obs_rx, token_dec)
                .await
                .map_err(NodeError::from)
        }
        .instrument(info_span!("decide")),
    );

    let state = ApiState::new(
        cfg.clone(),
        handle.clone(),
        store,
        verifier,
        token,
        Arc::clone(&metrics),
        readiness.clone(),
        clock,
    );
    let admin_addr = listeners
        .admin
        .local_addr()
        .map_err(|source| NodeError::Bind {
            addr: cfg.admin.listen,
            source,
        })?;
    tracing::info!(addr = %admin_addr, "admin listening on {admin_addr}");
    let token_api = shutdown.clone();
    let api_state = state.clone();
    tasks.spawn(
        async move {
            api::serve(listeners.admin, state, token_api)
                .await
                .map_err(|source| NodeError::Serve {
                    addr: admin_addr,
                    source,
                })
        }
        .instrument(info_span!("admin")),
    );

    if cfg.has_role(Role::Authority) && !cfg.dns.listen.is_empty() {
        let server = DnsServer::bind(&cfg)?;
        let dns = server.handle();
        metrics.attach_dns(dns.clone());
        // Answer from the committed state from the very first query.
        enact_dns::apply_now(&dns, &handle.published.borrow())?;
        let token = shutdown.clone();
        tasks.spawn(
            async move { server.run(token).await.map_err(NodeError::from) }
                .instrument(info_span!("dns")),
        );
        let token = shutdown.clone();
        let published = handle.published.clone();
        tasks.spawn(
            async move {
                enact_dns::follow(dns, published, token).await;
                Ok(())
            }
            .instrument(info_span!("enact_dns")),
        );
    }
    if cfg.has_role(Role::Probe) {
        let prober = probe_role::prober(&cfg)?;
        api_state.attach_checks(prober.status());
        let tx = if cfg.has_role(Role::Authority) {
            // Our own observations skip the signature: they never leave the process.
            handle.observations.clone()
        } else {
            let key = keys.first().cloned().ok_or(NodeError::NoAuthorities)?;
            if cfg.votes.authorities.is_empty() {
                return Err(NodeError::NoAuthorities);
            }
            let (tx, rx) = mpsc::channel(16);
            let authorities = cfg.votes.authorities.clone();
            let token = shutdown.clone();
            tasks.spawn(
                async move {
                    probe_role::push(rx, authorities, key, token).await;
                    Ok(())
                }
                .instrument(info_span!("push")),
            );
            tx
        };
        let token = shutdown.clone();
        tasks.spawn(
            async move {
                prober
                    .run(tx, token)
                    .await
                    .map_err(|e| NodeError::ProbeRole(e.into()))
            }
            .instrument(info_span!("probe")),
        );
    }
    drop(handle);

    readiness.set_ready();
    tracing::info!("node ready");

    // The first task to end (with or without error) or the token ends the node.
    let mut result = Ok(());
    tokio::select! {
        () = shutdown.cancelled() => {}
        Some(joined) = tasks.join_next() => {
            result = flatten(joined);
            if result.is_ok() && !shutdown.is_cancelled() {
                result = Err(NodeError::TaskEnded);
            }
        }
    }
    shutdown.cancel();
    let drain = async {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = flatten(joined) {
                tracing::error!(error = %e, "task failed during shutdown");
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
    };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        tracing::warn!(grace = ?GRACE, "tasks did not stop in time; aborting them");
        tasks.abort_all();
    }
    tracing::info!("node stopped");
    result
}

fn flatten(joined: Result<Result<(), NodeError>, tokio::task::JoinError>) -> Result<(), NodeError> {
    joined.map_err(|e| NodeError::Join(e.to_string()))?
}

#[cfg(test)]
mod tests;

/// `switchback serve`: bind the configured listeners, cancel on SIGTERM/SIGINT, run.
pub async fn serve(cfg: Config) -> Result<(), NodeError> {
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone()).map_err(NodeError::Signals)?;
    let listeners = Listeners::bind(&cfg).await?;
    run(cfg, listeners, shutdown).await
}
