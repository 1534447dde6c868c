//! The DNS enactor: the authority's answers follow the desired state.
//!
//! The node applies once before its DNS sockets serve a single query, so a restarted node
//! never answers with the primary while a failover is committed. Once serving, every change
//! is verified by asking the node's own listener (see [`DnsEnactor::verifying`]).

use super::dns_verify::DnsVerifier;
use super::{Applied, Reconciler, Verification};
use crate::config::Config;
use crate::dns::DnsHandle;
use crate::model::{Epoch, ServiceId};
use crate::policy::{Desired, DesiredSet};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// Applies desired states to the DNS authority (one atomic snapshot per apply).
#[derive(Clone, Debug)]
pub struct DnsEnactor {
    dns: DnsHandle,
    /// Asks the own listener after each change (absent: `NotChecked`).
    verify: Option<(DnsVerifier, Arc<Config>)>,
    /// The first apply runs before the sockets serve, so it cannot be verified.
    applied_once: bool,
    /// The epoch last reported per service: a new epoch whose answer is the same as the one
    /// served (committed after this node started on the same site, a maintenance bump) is
    /// still reported as enacted, so status, roster and waiters see every epoch.
    reported: BTreeMap<ServiceId, Epoch>,
}

impl DnsEnactor {
    /// The enactor of this authority.
    pub fn new(dns: DnsHandle) -> Self {
        Self {
            dns,
            verify: None,
            applied_once: false,
            reported: BTreeMap::new(),
        }
    }

    /// Verify every change after the first apply by querying `listener` (this node's own DNS
    /// socket) for each changed service's first name.
    pub fn verifying(mut self, listener: SocketAddr, cfg: Arc<Config>) -> Self {
        self.verify = Some((DnsVerifier { listener }, cfg));
        self
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
        let serving = std::mem::replace(&mut self.applied_once, true);
        match result {
            Ok(changed) => {
                let mut out = Vec::new();
                let new_epoch =
                    |d: &Desired| d.epoch.0 > 0 && self.reported.get(&d.service) != Some(&d.epoch);
                let report: Vec<&Desired> = desired
                    .values()
                    .filter(|d| changed.contains(&d.service) || new_epoch(d))
                    .collect();
                for d in report {
                    self.reported.insert(d.service.clone(), d.epoch);
                    let verification = match &self.verify {
                        Some((v, cfg)) if serving => v.verify(cfg, d).await,
                        _ => Verification::NotChecked,
                    };
                    out.push(Applied {
                        service: d.service.clone(),
                        epoch: d.epoch,
                        error: None,
                        took,
                        verification,
                    });
                }
                out
            }
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
