//! Node wiring: assembles the roles and the enactors the config asks for; one shutdown path.
//!
//! ```text
//!   Listeners::bind ── admin TCP, DNS UDP/TCP (authority) ──────────────────────────────┐
//!   Stores::open ── VoteBoard · Election · DecisionStore · AuditLog                      │
//!        │                                                                              │
//!        ├─▶ decide::start ── campaign, take over, first commits ─▶ Decider::run (task) │
//!        ├─▶ alert role: policy events · enactment Reports · committed health ─▶ spool ─▶ sinks
//!        ├─▶ enact: Follower<DnsEnactor> ◀── DecisionStore::watch (first apply, then task)
//!        ├─▶ enact: Follower<RouteEnactor> ◀── the same watch + netlink events (VIPs)       │
//!        ├─▶ probe role: Prober ─▶ decision loop (authority) or push to authorities     │
//!        └─▶ api::serve (admin) ◀────────────────────────────────────────────────────────┘
//!   shutdown: CancellationToken ─▶ every task (JoinSet); drain under GRACE
//! ```
//!
//! [`run`] takes already-bound listeners and a cancellation token, so `serve` and tests share
//! one code path and tests can bind port 0. The config is destructured here, where it is
//! wired: a new section does not compile until something consumes it.

mod alert_role;
mod cluster_role;
mod console_role;
pub mod descriptors;
mod dns_role;
mod error;
mod probe_role;
mod push;
mod relay;
mod reload;
mod roster_role;
mod route_role;
mod signals;
mod tasks;

pub use error::NodeError;
pub use probe_role::ProbeRoleError;
pub use signals::cancel_on_signals;
pub use tasks::GRACE;

use crate::api::{self, ApiState, Readiness, Token};
use crate::config::{AdminSection, Config, Role, VotesSection};
use crate::decide::{self, Clock, DecisionHandle};
use crate::dns::DnsServer;
use crate::enact::Reports;
use crate::metrics::{Exposition, Metrics};
use crate::probe::StatusHandle;
use crate::store::Stores;
use crate::tally::Verifier;
use std::sync::Arc;
use tasks::Tasks;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Sockets bound before [`run`], so callers choose ports (tests bind port 0).
pub struct Listeners {
    /// The admin HTTP API.
    pub admin: TcpListener,
    /// The DNS authority, bound with its zones loaded (authority role with `[dns] listen`).
    pub dns: Option<DnsServer>,
}

impl Listeners {
    /// Bind every listener the config asks for.
    pub async fn bind(cfg: &Config) -> Result<Self, NodeError> {
        let addr = cfg.admin.listen;
        let admin = api::bind(addr)
            .await
            .map_err(|source| NodeError::Bind { addr, source })?;
        let dns = if cfg.has_role(Role::Authority) && !cfg.dns.listen.is_empty() {
            Some(DnsServer::bind(cfg)?)
        } else {
            None
        };
        Ok(Self { admin, dns })
    }
}

fn read_keys(votes: &VotesSection) -> Result<Vec<Vec<u8>>, NodeError> {
    votes
        .key_files
        .iter()
        .enumerate()
        .map(|(i, path)| {
            std::fs::read_to_string(path)
                .map(|k| k.trim().as_bytes().to_vec())
                .map_err(|source| NodeError::ReadFile {
                    path: path.clone(),
                    key: format!("votes.key_files[{i}]"),
                    what: "vote key",
                    source,
                })
        })
        .collect()
}

fn read_token(admin: &AdminSection) -> Result<Token, NodeError> {
    match &admin.token_file {
        None => {
            tracing::warn!("no [admin] token_file: admin writes are disabled");
            Ok(Token::none())
        }
        Some(path) => Token::from_file(path).map_err(|source| NodeError::ReadFile {
            path: path.clone(),
            key: "admin.token_file".to_owned(),
            what: "admin token",
            source,
        }),
    }
}

/// Run the node until `shutdown` is cancelled or a task fails.
pub async fn run(
    cfg: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    run_carrying(cfg, listeners, shutdown, &reload::Carry::default()).await
}

/// [`run`], taking the votes a previous run of the roles left in `carry` and leaving its own
/// there when it stops (reload keeps the embedded board's votes; etcd keeps them itself).
async fn run_carrying(
    cfg: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
    carry: &reload::Carry,
) -> Result<(), NodeError> {
    let cfg = Arc::new(cfg);
    let Config {
        source: _,   // only names the file in messages
        node,        // identity and roles, below
        store: _,    // Stores::open
        votes,       // keys and verifiers, below
        log: _,      // main installs logging before the node starts
        dns: _,      // Listeners::bind (authority) and the DNS enactor
        admin,       // the token, below; the address in Listeners::bind
        sites: _,    // the engine, the probes and the enactors read them from the config
        services: _, // likewise
        alerts: _,   // the alert role, below
        route: _,    // the route enactor (route_role)
        audit: _,    // Stores::open (rotation of the embedded audit log)
    } = &*cfg;
    // What this build accepts but does not act on (the etcd store) is said, never ignored.
    for part in crate::check::inert(&cfg) {
        tracing::warn!("{part}");
    }
    let Listeners {
        admin: admin_listener,
        dns,
    } = listeners;
    let clock = Clock::system();
    let token = read_token(admin)?;
    let keys = read_keys(votes)?;
    let verifier = || Verifier::new(keys.clone(), &votes.voters, votes.stale_after);
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|source| NodeError::Bind {
            addr: admin.listen,
            source,
        })?;
    let admin_url = format!("http://{admin_addr}");
    let stores = Stores::open(&cfg, Some(admin_url.clone())).await?;
    carry.restore(&cfg, &stores).await;
    let route = route_role::prepare(&cfg, &shutdown);
    let push_stats = Arc::new(push::PushStats::new(&votes.authorities));
    let sources: Vec<Arc<dyn Exposition>> = dns
        .iter()
        .map(|d| Arc::new(d.handle()) as Arc<dyn Exposition>)
        .chain(route_role::exposition(&route))
        .chain(probe_role::pushes(&cfg).then(|| Arc::clone(&push_stats) as Arc<dyn Exposition>))
        .collect();
    let reports = Reports::default();
    let metrics = Arc::new(Metrics::new(sources));
    let readiness = Readiness::new();
    let mut tasks = Tasks::new(shutdown);

    // Lead, take over what is committed and make the first decisions durable before any
    // enactor or listener acts on them.
    let (decide, decider) = decide::start(
        &cfg,
        node.id.clone(),
        &stores,
        clock,
        Arc::clone(&metrics),
        verifier(),
    )
    .await?;
    if cfg.has_role(Role::Authority) {
        tasks.spawn("decide", decider.run(tasks.token()));
    } else {
        // A probe-only node neither decides nor answers: its pushed votes count at the
        // authorities. Run, its engine would see no votes and raise (and page) quorum_lost
        // for every service; its committed state stays the initial one it just made durable.
        drop(decider);
        tracing::info!("probe-only: no decision loop here; votes go to [votes] authorities");
    }
    tracing::info!(addr = %admin_addr, "admin listening on {admin_addr}");

    let withdraw = match (&cfg.store, &dns) {
        (crate::config::StoreSection::Etcd { options, .. }, Some(server))
            if options.on_isolation == crate::config::OnIsolation::Withdraw =>
        {
            Some(server.handle())
        }
        _ => None,
    };
    // The alert role subscribes to the enactors' reports before their first apply.
    let enactors: Vec<&'static str> = [(dns.is_some(), "dns"), (route.is_some(), "route")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let raise = alert_role::start(
        &cfg,
        &decide,
        &reports,
        stores.decisions.watch(),
        &enactors,
        &metrics,
        &mut tasks,
    )?;

    if let Some(server) = dns {
        dns_role::start(server, &cfg, &stores, &metrics, &reports, &mut tasks).await?;
    }

    let watch = stores.decisions.watch();
    route_role::start(route, &cfg, watch, &metrics, &reports, &mut tasks).await;

    let checks = if cfg.has_role(Role::Probe) {
        Some(start_probe_role(
            &cfg, &keys, &decide, &stores, push_stats, &mut tasks,
        )?)
    } else {
        None
    };

    let console = console_role::start(&cfg, &decide, &stores, reports, clock, &mut tasks).await;
    roster_role::start(&cfg, &stores, &console.reports, admin_url, &mut tasks);
    if stores.standing.borrow().cluster {
        let (standing, raise, token) = (stores.standing.clone(), raise.clone(), tasks.token());
        tasks.spawn(
            "alert_isolation",
            cluster_role::alert_on_isolation(standing, raise, token),
        );
    }
    console_role::alert_drills(&console, raise.clone(), &mut tasks);
    let votes = relay::board_for_pushes(&cfg, &stores, &metrics, &mut tasks);
    let state = ApiState::new(api::Parts {
        cfg: Arc::clone(&cfg),
        decide,
        audit: Arc::clone(&stores.audit),
        votes,
        verifier: verifier(),
        token,
        metrics,
        readiness: readiness.clone(),
        clock,
        checks,
        standing: stores.standing.clone(),
        reports: console.reports.clone(),
        console,
        raise,
    });
    let token = tasks.token();
    tasks.spawn("admin", async move {
        api::serve(admin_listener, state, token)
            .await
            .map_err(|source| NodeError::Serve {
                addr: admin_addr,
                source,
            })
    });

    readiness.set_ready();
    tracing::info!("node ready");
    if let Some(dns) = withdraw {
        let token = tasks.token();
        tasks.spawn(
            "withdraw",
            cluster_role::withdraw_when_isolated(stores.standing.clone(), dns, token),
        );
    }
    let stopped = tasks.wait().await;
    carry.keep(&cfg, &stores).await;
    stopped
}

/// The probe role: checks feed the local decision loop on an authority; a probe-only node
/// signs its observations and pushes them to `[votes] authorities`.
fn start_probe_role(
    cfg: &Config,
    keys: &[Vec<u8>],
    decide: &DecisionHandle,
    stores: &Stores,
    push_stats: Arc<push::PushStats>,
    tasks: &mut Tasks,
) -> Result<StatusHandle, NodeError> {
    let prober = probe_role::prober(cfg)?;
    let status = prober.status();
    let tx = if cfg.has_role(Role::Authority) && stores.standing.borrow().cluster {
        // In a cluster whoever leads counts this node's votes: signed, through the board.
        let key = keys.first().cloned().ok_or(NodeError::NoAuthorities)?;
        let (tx, rx) = mpsc::channel(16);
        let board = Arc::clone(&stores.votes);
        let ttl = cfg.votes.stale_after;
        let token = tasks.token();
        tasks.spawn("publish", async move {
            probe_role::publish(rx, board, key, ttl, token).await;
            Ok::<(), NodeError>(())
        });
        tx
    } else if cfg.has_role(Role::Authority) {
        // Our own observations skip the signature: they never leave the process.
        decide.observations.clone()
    } else {
        let key = keys.first().cloned().ok_or(NodeError::NoAuthorities)?;
        if cfg.votes.authorities.is_empty() {
            return Err(NodeError::NoAuthorities);
        }
        let (tx, rx) = mpsc::channel(16);
        let token = tasks.token();
        tasks.spawn("push", async move {
            push::push(rx, push_stats, key, token).await;
            Ok::<(), NodeError>(())
        });
        tx
    };
    let token = tasks.token();
    tasks.spawn("probe", async move {
        prober
            .run(tx, token)
            .await
            .map_err(|e| NodeError::ProbeRole(e.into()))
    });
    Ok(status)
}

#[cfg(test)]
pub(crate) mod tests;

/// `switchback serve`: bind the configured listeners, cancel on SIGTERM/SIGINT, reload on
/// SIGHUP, run.
pub async fn serve(cfg: Config) -> Result<(), NodeError> {
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone()).map_err(NodeError::Signals)?;
    descriptors::ensure(&cfg)?;
    reload::serve_reloading(cfg, shutdown).await
}
