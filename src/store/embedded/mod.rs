//! The embedded store: state on local disk in `state_dir`, for a single authority.
//!
//! Layout: `state_dir/decisions/<service>.json` (current [`ServiceRecord`] per service,
//! replaced atomically, see `files`) and `state_dir/audit.jsonl` (append-only, see `audit`).
//! Votes live in memory (`board`). Blocking file I/O runs on tokio's blocking pool; one mutex
//! serialises writers so the CAS check and the write are one step. An exclusive `flock` on
//! `state_dir/lock` keeps a second process out, which also makes this process the only leader.

mod audit;
mod board;
mod files;

use super::{
    AuditLog, DecisionStore, Election, HistoryQuery, Leadership, Records, StoreError, VoteBoard,
    VoteWatch, may_replace,
};
use crate::model::{NodeId, ServiceId, ServiceRecord};
use crate::policy::AuditRecord;
use crate::tally::SignedObservation;
use async_trait::async_trait;
use nix::fcntl::{Flock, FlockArg};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Something repaired while opening the store after a crash; logged and kept for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// A temp decision file left by a crash before its rename; removed (the old decision stands).
    StrayTempFile {
        /// The removed file.
        path: PathBuf,
    },
    /// The audit log's last line was incomplete (crash mid-append); moved aside, log truncated.
    TornAuditTail {
        /// The audit log.
        path: PathBuf,
        /// 1-based line number of the torn line.
        line: usize,
        /// How many bytes were set aside.
        bytes: usize,
        /// The side file that keeps them.
        saved_to: PathBuf,
    },
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovery::StrayTempFile { path } => {
                write!(f, "{}: removed temp file left by a crash", path.display())
            }
            Recovery::TornAuditTail {
                path,
                line,
                bytes,
                saved_to,
            } => write!(
                f,
                "{}:{line}: torn last record ({bytes} bytes) moved to {}",
                path.display(),
                saved_to.display()
            ),
        }
    }
}

/// Take the state directory's exclusive lock, without waiting.
fn lock(path: &Path) -> Result<Flock<File>, StoreError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            op: "open lock file",
            source,
        })?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, source)| StoreError::Locked {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Debug)]
struct State {
    decisions: BTreeMap<ServiceId, ServiceRecord>,
    audit: audit::AuditLog,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    state: Mutex<State>,
    /// What watchers see; sent after each durable commit, under the state lock (in order).
    committed: watch::Sender<Records>,
    board: board::Board,
    /// Held for the store's life: a second process on the same state_dir is refused. The
    /// kernel drops it when the process dies, so kill -9 never leaves a stale lock.
    _lock: Flock<File>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave half-written files (writes are atomic
        // renames or whole-line appends), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Records, audit log and votes in a local directory (one authority).
#[derive(Clone, Debug)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
    recoveries: Vec<Recovery>,
}

impl EmbeddedStore {
    /// Open (creating) the store in `state_dir`, repairing crash leftovers and validating every
    /// file: a corrupt decision file or audit line is an error naming it.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let dir = state_dir.join("decisions");
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            op: "create directory",
            source,
        })?;
        files::sync_dir(state_dir)?;
        let lock = lock(&state_dir.join("lock"))?;
        let mut recoveries = Vec::new();
        let decisions = files::load_dir(&dir, &mut recoveries)?;
        let audit = audit::AuditLog::open(&state_dir.join("audit.jsonl"), &mut recoveries)?;
        for r in &recoveries {
            tracing::warn!(recovery = %r, "store recovered after a crash");
        }
        let (committed, _) = watch::channel(Arc::new(decisions.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                state: Mutex::new(State { decisions, audit }),
                committed,
                board: board::Board::default(),
                _lock: lock,
            }),
            recoveries,
        })
    }

    /// Rotate the audit log once it reaches `max_size` bytes, keeping `keep` rotated files
    /// (`[audit]`); history reads across them.
    pub fn rotate_audit(&self, max_size: u64, keep: usize) {
        self.inner.lock().audit.set_rotation(max_size, keep);
    }

    /// What was repaired on open (stray temp files, a torn audit tail).
    pub fn recoveries(&self) -> &[Recovery] {
        &self.recoveries
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

#[async_trait]
impl VoteBoard for EmbeddedStore {
    async fn publish(&self, vote: &SignedObservation, ttl: Duration) -> Result<(), StoreError> {
        self.inner.board.publish(vote, ttl);
        Ok(())
    }

    async fn watch_votes(&self) -> Result<VoteWatch, StoreError> {
        Ok(self.inner.board.watch())
    }
}

#[async_trait]
impl Election for EmbeddedStore {
    /// The `flock` taken in [`EmbeddedStore::open`] already makes this process the only one on
    /// the state: it leads at once, until it resigns.
    async fn campaign(&self, node: &NodeId) -> Result<Leadership, StoreError> {
        Ok(Leadership::new(node.clone(), 1, CancellationToken::new()))
    }

    async fn resign(&self, leadership: &Leadership) -> Result<(), StoreError> {
        leadership.end();
        Ok(())
    }
}

#[async_trait]
impl DecisionStore for EmbeddedStore {
    async fn load(&self) -> Result<BTreeMap<ServiceId, ServiceRecord>, StoreError> {
        self.blocking(|inner| Ok(inner.lock().decisions.clone()))
            .await
    }

    async fn commit(
        &self,
        leadership: &Leadership,
        next: &ServiceRecord,
    ) -> Result<(), StoreError> {
        let next = next.clone();
        let leadership = leadership.clone();
        self.blocking(move |inner| {
            let mut state = inner.lock();
            let service = next.service();
            if leadership.is_lost() {
                return Err(StoreError::Deposed {
                    service: service.clone(),
                    node: leadership.node().clone(),
                });
            }
            let stored = state.decisions.get(service);
            may_replace(stored, &next)?;
            files::write_decision(&inner.dir, &next)?;
            state.decisions.insert(service.clone(), next.clone());
            inner.committed.send_modify(|records| {
                Arc::make_mut(records).insert(next.service().clone(), next);
            });
            Ok(())
        })
        .await
    }

    fn watch(&self) -> watch::Receiver<Records> {
        self.inner.committed.subscribe()
    }
}

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let records = records.to_vec();
        self.blocking(move |inner| inner.lock().audit.append(&records))
            .await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let query = query.clone();
        self.blocking(move |inner| {
            let limit = query.limit.unwrap_or(usize::MAX);
            inner.lock().audit.read_newest(|r| query.matches(r), limit)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
