//! The etcd store: several authorities agree through a real etcd cluster (cargo feature `etcd`).
//!
//! Keys under `[store] prefix` (`P`):
//! - `P/decisions/<service>`: the committed [`ServiceRecord`] (JSON); see `decisions`.
//! - `P/votes/<node>`: the latest signed vote of a probe node, under that node's lease, so a
//!   dead probe's vote expires by itself; see `board`.
//! - `P/leader/<lease>`: etcd's election keys (its v3 election API); the lowest create
//!   revision leads, and that revision is the leadership's fence; see `election`.
//!
//! The audit log stays local to each node (`state_dir/audit.jsonl`, the embedded log): every
//! authority records what it decided or followed; etcd holds the shared truth (decisions).
//! A background task follows the committed records (watch, reconnect across endpoints, reload
//! after compaction or isolation) and checks that a quorum answers, publishing [`Standing`].

mod board;
mod decisions;
mod election;
mod follow;
mod roster;

use super::{
    AuditLog, DecisionStore, Election, EmbeddedStore, HistoryQuery, Leadership, Records, Roster,
    Standing, StoreError, VoteBoard, VoteWatch,
};
use crate::config::{EtcdOptions, EtcdTls};
use crate::model::{NodeId, ServiceId, ServiceRecord};
use crate::policy::AuditRecord;
use crate::tally::SignedObservation;
use async_trait::async_trait;
use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Where and how to reach etcd (from `[store]`).
#[derive(Clone, Debug)]
pub struct EtcdSettings {
    /// Client URLs of the members.
    pub endpoints: Vec<String>,
    /// Key prefix.
    pub prefix: String,
    /// Leadership lease TTL.
    pub lease_ttl: Duration,
    /// Timeouts, TLS, auth.
    pub options: EtcdOptions,
}

/// Votes, leadership and decisions in etcd; the audit log on local disk.
#[derive(Clone)]
pub struct EtcdStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    keys: Keys,
    lease_ttl: Duration,
    timeout: Duration,
    /// What this node announces when it leads.
    advertise: Option<String>,
    audit: EmbeddedStore,
    committed: watch::Receiver<Records>,
    standing: watch::Receiver<Standing>,
    /// Leader keys of this process's leaderships, by fence.
    leaders: Mutex<BTreeMap<u64, etcd_client::LeaderKey>>,
    board: board::Leases,
    /// Every authority's record (this node's published from here).
    roster: Roster,
    /// Cancels the background tasks when the store is dropped.
    stop: CancellationToken,
    _stop: DropGuard,
}

/// The key layout under the prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Self { prefix }
    }
    fn decisions(&self) -> String {
        format!("{}decisions/", self.prefix)
    }
    fn decision(&self, service: &ServiceId) -> String {
        format!("{}decisions/{}", self.prefix, service.as_str())
    }
    fn votes(&self) -> String {
        format!("{}votes/", self.prefix)
    }
    fn vote(&self, node: &NodeId) -> String {
        format!("{}votes/{}", self.prefix, node.as_str())
    }
    fn election(&self) -> String {
        format!("{}leader", self.prefix)
    }
    fn authorities(&self) -> String {
        format!("{}authorities/", self.prefix)
    }
    fn authority(&self, node: &NodeId) -> String {
        format!("{}authorities/{}", self.prefix, node.as_str())
    }
}

/// Run `f` under the request timeout, naming what timed out.
pub(crate) async fn timed<T>(
    after: Duration,
    op: &'static str,
    key: &str,
    f: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(after, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(StoreError::Etcd {
            op,
            key: key.to_owned(),
            source,
        }),
        Err(_) => Err(StoreError::Timeout {
            op,
            key: key.to_owned(),
            after,
        }),
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        op: what,
        source,
    })
}

fn connect_options(opts: &EtcdOptions, lease_ttl: Duration) -> Result<ConnectOptions, StoreError> {
    // HTTP/2 pings notice a dead member well within a lease, so requests move to another one.
    let ping = (lease_ttl / 3).max(Duration::from_millis(500));
    let mut c = ConnectOptions::new()
        .with_connect_timeout(opts.dial_timeout)
        .with_keep_alive(ping, opts.request_timeout)
        .with_keep_alive_while_idle(true)
        // A member cut off from the etcd leader refuses requests rather than serve stale reads.
        .with_require_leader(true);
    if let Some(EtcdTls { ca_file, identity }) = &opts.tls {
        let mut tls = TlsOptions::new();
        if let Some(ca) = ca_file {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca, "read etcd CA file")?));
        }
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(
                read(cert, "read etcd client certificate")?,
                read(key, "read etcd client key")?,
            ));
        }
        c = c.with_tls(tls);
    }
    if let Some(auth) = &opts.auth {
        let password = read(&auth.password_file, "read etcd password file")?;
        let password = String::from_utf8_lossy(&password);
        let password = password.lines().next().unwrap_or_default().to_owned();
        c = c.with_user(auth.user.clone(), password);
    }
    Ok(c)
}

impl EtcdStore {
    /// Connect, read every committed record (so the node answers from them before anything
    /// else) and start following them. `advertise` is this node's admin URL, announced while
    /// it leads; the audit log opens in `state_dir`.
    pub async fn open(
        settings: &EtcdSettings,
        advertise: Option<String>,
        state_dir: &Path,
    ) -> Result<Self, StoreError> {
        let audit = EmbeddedStore::open(state_dir)?;
        let opts = &settings.options;
        let connect = connect_options(opts, settings.lease_ttl)?;
        let endpoints = settings.endpoints.join(",");
        let client = timed(
            opts.dial_timeout + opts.request_timeout,
            "connect",
            &endpoints,
            Client::connect(&settings.endpoints, Some(connect)),
        )
        .await?;
        let keys = Keys::new(&settings.prefix);
        let (records, revision) = decisions::load_all(&client, &keys, opts.request_timeout).await?;
        let stop = CancellationToken::new();
        let (committed_tx, committed) = watch::channel(Arc::new(records));
        let (standing_tx, standing) = watch::channel(Standing {
            cluster: true,
            ..Standing::default()
        });
        tokio::spawn(follow::run(follow::Follow {
            client: client.clone(),
            keys: keys.clone(),
            timeout: opts.request_timeout,
            check_every: (settings.lease_ttl / 5).max(Duration::from_millis(200)),
            committed: committed_tx,
            standing: standing_tx,
            revision,
            stop: stop.clone(),
            grace: settings.lease_ttl,
            last_ok: tokio::time::Instant::now(),
        }));
        let roster = Roster::default();
        tokio::spawn(roster::publish(
            client.clone(),
            keys.clone(),
            settings.lease_ttl,
            opts.request_timeout,
            roster.clone(),
            stop.clone(),
        ));
        tokio::spawn(roster::follow(
            client.clone(),
            keys.clone(),
            opts.request_timeout,
            roster.clone(),
            stop.clone(),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                keys,
                lease_ttl: settings.lease_ttl,
                timeout: opts.request_timeout,
                advertise,
                audit,
                committed,
                standing,
                leaders: Mutex::default(),
                board: board::Leases::default(),
                roster,
                _stop: stop.clone().drop_guard(),
                stop,
            }),
        })
    }

    /// This node's standing: reachable or cut off, and who leads.
    pub fn standing(&self) -> watch::Receiver<Standing> {
        self.inner.standing.clone()
    }

    /// Every authority's record in etcd, and where this node announces its own.
    pub fn roster(&self) -> Roster {
        self.inner.roster.clone()
    }
}

#[async_trait]
impl VoteBoard for EtcdStore {
    async fn publish(&self, vote: &SignedObservation, ttl: Duration) -> Result<(), StoreError> {
        board::publish(&self.inner, vote, ttl).await
    }

    async fn watch_votes(&self) -> Result<VoteWatch, StoreError> {
        board::watch(&self.inner).await
    }
}

#[async_trait]
impl Election for EtcdStore {
    async fn campaign(&self, node: &NodeId) -> Result<Leadership, StoreError> {
        election::campaign(&self.inner, node).await
    }

    async fn resign(&self, leadership: &Leadership) -> Result<(), StoreError> {
        election::resign(&self.inner, leadership).await
    }
}

#[async_trait]
impl DecisionStore for EtcdStore {
    async fn load(&self) -> Result<BTreeMap<ServiceId, ServiceRecord>, StoreError> {
        let i = &self.inner;
        Ok(decisions::load_all(&i.client, &i.keys, i.timeout).await?.0)
    }

    async fn commit(
        &self,
        leadership: &Leadership,
        next: &ServiceRecord,
    ) -> Result<(), StoreError> {
        decisions::commit(&self.inner, leadership, next).await
    }

    async fn commit_all(
        &self,
        leadership: &Leadership,
        next: &[ServiceRecord],
    ) -> Result<(), StoreError> {
        decisions::commit_all(&self.inner, leadership, next).await
    }

    fn watch(&self) -> watch::Receiver<Records> {
        self.inner.committed.clone()
    }
}

impl EtcdStore {
    /// Rotate this node's local audit log at `max_size`, keeping `keep` old files (`[audit]`).
    pub fn rotate_audit(&self, max_size: u64, keep: usize) {
        self.inner.audit.rotate_audit(max_size, keep);
    }
}

#[async_trait]
impl AuditLog for EtcdStore {
    async fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.inner.audit.append(records).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit.history(query).await
    }
}

#[cfg(test)]
mod tests;
