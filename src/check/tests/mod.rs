//! `check`: cross-references between the config, its probes files and its zones hold, and
//! the orchestration around them (referenced files must exist, problems are located, the
//! summary fits a screen).

use super::*;
use crate::config::tests::{MINIMAL, edit, line_of, load_text, repo};
use crate::model::{CheckName, Layer, SiteId};
use std::collections::BTreeSet;

pub(super) fn zone(origin: &str, owners: &[&str]) -> ZoneFacts {
    ZoneFacts {
        path: PathBuf::from("zones/boss.example.zone"),
        origin: origin.into(),
        owners: owners
            .iter()
            .map(|o| (*o).to_owned())
            .collect::<BTreeSet<_>>(),
    }
}

pub(super) fn def(name: &str, site: Option<&str>, layer: Layer, line: usize) -> CheckFacts {
    CheckFacts {
        name: CheckName::from(name),
        site: site.map(SiteId::from),
        layer,
        line,
    }
}

mod cross;
mod files;
mod inert;
mod summary;
