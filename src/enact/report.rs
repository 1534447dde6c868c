//! What enactors report per service: [`Applied`], and the last one of each in [`Reports`].

use crate::model::{Epoch, ServiceId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The last [`Applied`] of every enactor and service, for status pages.
#[derive(Clone, Debug, Default)]
pub struct Reports(Arc<Mutex<BTreeMap<&'static str, BTreeMap<ServiceId, Applied>>>>);

impl Reports {
    /// Remember `applied` as `enactor`'s latest for its service.
    pub fn record(&self, enactor: &'static str, applied: Applied) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(enactor)
            .or_default()
            .insert(applied.service.clone(), applied);
    }

    /// Every enactor's latest result per service.
    pub fn snapshot(&self) -> BTreeMap<&'static str, BTreeMap<ServiceId, Applied>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
