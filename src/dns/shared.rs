//! [`Shared`]: what the serving loops (UDP, TCP) and every handle share, and the
//! [`Enactor`] state behind its mutex. Its own room so the loops and the server that starts
//! them do not import each other.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::hot::HotTable;
use super::journal::Journal;
use super::metrics::Counters;
use super::notify::ZoneSerial;
use super::serial::SerialStore;
use super::snapshot::{ServiceDef, Snapshot, ZoneBase};
use super::view::Answer;
use super::xfr::XfrPolicy;
use crate::policy::Desired;

/// State shared by the serving loops and every handle.
pub(crate) struct Shared {
    pub(crate) snap: ArcSwap<Snapshot>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) xfr: XfrPolicy,
    pub(crate) enactor: Mutex<Enactor>,
    pub(crate) serials: watch::Sender<Vec<ZoneSerial>>,
    /// Withdrawn (an isolated cluster authority with `on_isolation = "withdraw"`): every
    /// query is dropped, so resolvers ask another authority.
    pub(crate) withdrawn: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Whether queries are dropped right now.
    pub(crate) fn is_withdrawn(&self) -> bool {
        self.withdrawn.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What apply needs to build the next snapshot (behind the mutex: one apply at a time).
pub(crate) struct Enactor {
    pub(crate) bases: Vec<ZoneBase>,
    pub(crate) static_hot: Arc<HotTable>,
    pub(crate) defs: Vec<ServiceDef>,
    pub(crate) views: Vec<Desired>,
    pub(crate) answers: Vec<Answer>,
    pub(crate) serials: Vec<u32>,
    pub(crate) journals: Vec<Journal>,
    pub(crate) store: SerialStore,
}
