//! What enactors report per service: [`Applied`], and the last one of each in [`Reports`].

use crate::model::{Epoch, ServiceId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Whether an enactor checked, from this node, that the world now matches (its own DNS
/// listener answers the new address, the kernel has the route).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "why")]
pub enum Verification {
    /// The enactor does not verify (or the apply failed before there was anything to check).
    #[default]
    NotChecked,
    /// Checked and matching.
    Verified,
    /// Checked and not matching: why.
    Failed(String),
}

/// One service's enactment by one enactor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The service.
    pub service: ServiceId,
    /// The epoch that was enacted (or tried).
    pub epoch: Epoch,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long the enactment took.
    #[serde(rename = "took_us", serialize_with = "micros")]
    pub took: Duration,
    /// What the enactor found when it checked its work.
    pub verification: Verification,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl Applied {
    /// Whether it succeeded.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// One enactor's [`Applied`], as [`Reports::subscribe`] streams it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The enactor (`dns`, `route`).
    pub enactor: &'static str,
    /// What it did.
    #[serde(flatten)]
    pub applied: Applied,
}

/// The last [`Applied`] of every enactor and service, for status pages, and a stream of each
/// new one for whoever waits on enactment (alerts, drills).
#[derive(Clone, Debug)]
pub struct Reports {
    latest: Arc<Mutex<BTreeMap<&'static str, BTreeMap<ServiceId, Applied>>>>,
    /// Every enactor following the committed state on this node (a drill waits for each).
    enactors: Arc<Mutex<Vec<&'static str>>>,
    stream: broadcast::Sender<Report>,
}

impl Default for Reports {
    fn default() -> Self {
        Self {
            latest: Arc::default(),
            enactors: Arc::default(),
            // Subscribers read promptly; one that lags sees `Lagged` and re-reads `snapshot`.
            stream: broadcast::channel(1024).0,
        }
    }
}

impl Reports {
    /// Note that `enactor` follows the committed state here ([`super::Follower::new`] does).
    pub fn register(&self, enactor: &'static str) {
        let mut e = self.enactors.lock().unwrap_or_else(|p| p.into_inner());
        if !e.contains(&enactor) {
            e.push(enactor);
        }
    }

    /// The enactors registered on this node.
    pub fn enactors(&self) -> Vec<&'static str> {
        self.enactors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Remember `applied` as `enactor`'s latest for its service and tell subscribers.
    pub fn record(&self, enactor: &'static str, applied: Applied) {
        let mut m = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(enactor)
            .or_default()
            .insert(applied.service.clone(), applied.clone());
        drop(m);
        // No subscriber is not an error.
        let _ = self.stream.send(Report { enactor, applied });
    }

    /// Every enactor's latest result per service.
    pub fn snapshot(&self) -> BTreeMap<&'static str, BTreeMap<ServiceId, Applied>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every report recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Report> {
        self.stream.subscribe()
    }
}
