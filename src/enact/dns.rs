//! The DNS enactor: the authority's answers follow the desired state.
//!
//! The node applies once before its DNS sockets serve a single query, so a restarted node
//! never answers with the primary while a failover is committed.

use super::{Applied, Reconciler, Verification};
use crate::dns::DnsHandle;
use crate::policy::DesiredSet;
use async_trait::async_trait;
use tokio::time::Instant;

/// Applies desired states to the DNS authority (one atomic snapshot per apply).
#[derive(Clone, Debug)]
pub struct DnsEnactor {
    dns: DnsHandle,
}

impl DnsEnactor {
    /// The enactor of this authority.
    pub fn new(dns: DnsHandle) -> Self {
        Self { dns }
    }
}

#[async_trait]
impl Reconciler for DnsEnactor {
    fn name(&self) -> &'static str {
        "dns"
    }

    async fn apply(&mut self, desired: &DesiredSet) -> Vec<Applied> {
        let started = Instant::now();
        let result = self.dns.apply_changes(desired.values());
        let took = started.elapsed();
        match result {
            Ok(changed) => changed
                .into_iter()
                .filter_map(|s| desired.get(&s))
                .map(|d| Applied {
                    service: d.service.clone(),
                    epoch: d.epoch,
                    error: None,
                    took,
                    verification: Verification::NotChecked,
                })
                .collect(),
            // The authority keeps serving its last good snapshot; every service it should have
            // moved is reported failed (the store error names the file).
            Err(e) => desired
                .values()
                .map(|d| Applied {
                    service: d.service.clone(),
                    epoch: d.epoch,
                    error: Some(e.to_string()),
                    took,
                    verification: Verification::NotChecked,
                })
                .collect(),
        }
    }
}
