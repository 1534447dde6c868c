//! Why an operator command was refused; every variant names the service (and site).

use crate::model::{ServiceId, SiteId};

/// A refused operator command; the engine's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such service in the config.
    #[error("unknown service {service}")]
    UnknownService {
        /// The name given.
        service: ServiceId,
    },
    /// No such site in the config.
    #[error("service {service}: unknown site {site}")]
    UnknownSite {
        /// The service.
        service: ServiceId,
        /// The name given.
        site: SiteId,
    },
    /// The site is an arbiter or has no addresses for this service: it never serves.
    #[error("service {service}: site {site} does not serve it")]
    NotServing {
        /// The service.
        service: ServiceId,
        /// The site.
        site: SiteId,
    },
    /// `approve`/`reject` with no pending proposal.
    #[error("service {service}: nothing pending")]
    NothingPending {
        /// The service.
        service: ServiceId,
    },
    /// The target is not up by quorum (or its gates are not); an operator switch needs `force`.
    #[error("service {service}: site {site} is not seen up by a quorum{detail}")]
    TargetNotUp {
        /// The service.
        service: ServiceId,
        /// The target.
        site: SiteId,
        /// What blocks it, prefixed with `: ` when known.
        detail: String,
    },
    /// The site is already active.
    #[error("service {service}: {site} is already active")]
    AlreadyActive {
        /// The service.
        service: ServiceId,
        /// The site.
        site: SiteId,
    },
}
