//! The probe's log events as typed variants; [`ProbeEvent::log`] picks the level, so the
//! messages operators grep for are defined in one place.

use crate::model::{CheckName, Health, Layer, SiteId};

/// Something an operator may want to see in the log.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeEvent<'a> {
    /// A check crossed rise/fall.
    CheckChanged {
        /// The check.
        check: &'a CheckName,
        /// Its site (`None` = self-check).
        site: Option<&'a SiteId>,
        /// Its layer.
        layer: Layer,
        /// State before.
        from: Health,
        /// State after.
        to: Health,
        /// The attempt that tipped it.
        why: &'a str,
    },
    /// Self-checks are not all up: this node's observations abstain.
    Abstaining {
        /// Which self-checks and why.
        detail: &'a str,
    },
    /// Every self-check is up again: this node's observations count.
    Voting,
}

impl ProbeEvent<'_> {
    /// Emits the event: down transitions and abstention warn, the rest inform.
    pub fn log(&self) {
        match self {
            ProbeEvent::CheckChanged {
                check,
                site,
                layer,
                from,
                to,
                why,
            } => {
                let site = site.map_or("self", |s| s.as_str());
                if *to == Health::Down {
                    tracing::warn!(%check, site, %layer, %from, %to, why, "check state changed");
                } else {
                    tracing::info!(%check, site, %layer, %from, %to, why, "check state changed");
                }
            }
            ProbeEvent::Abstaining { detail } => {
                tracing::warn!(detail, "self-check failing: this probe abstains");
            }
            ProbeEvent::Voting => tracing::info!("self-checks up: this probe votes"),
        }
    }
}
