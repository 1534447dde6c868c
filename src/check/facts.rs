//! What `check` needs to know about probes and zone files: only the contract fields
//! (`ProbeFile{path, checks}`, `CheckDef{name, site, layer, line}`, `ZoneFile{path, origin,
//! owners}`). Copying them out keeps the cross-reference rules and their tests independent of
//! everything else those parsers grow.

use crate::dns::zonefile::ZoneFile;
use crate::model::{CheckName, Layer, SiteId};
use crate::probe::defs::ProbeFile;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One probes file, as far as cross-references go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbesFacts {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its checks in file order.
    pub checks: Vec<CheckFacts>,
}

/// One check definition, as far as cross-references go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFacts {
    /// Its name (gates refer to it).
    pub name: CheckName,
    /// The site it measures; `None` for a self-check.
    pub site: Option<SiteId>,
    /// The layer it measures.
    pub layer: Layer,
    /// 1-based line of its `[[check]]` table.
    pub line: usize,
}

/// One zone file, as far as cross-references go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneFacts {
    /// Where it was read from.
    pub path: PathBuf,
    /// The apex, lower case with a trailing dot.
    pub origin: String,
    /// Owner names with records, lower case with a trailing dot.
    pub owners: BTreeSet<String>,
}

impl From<&ProbeFile> for ProbesFacts {
    fn from(f: &ProbeFile) -> Self {
        Self {
            path: f.path.clone(),
            checks: f
                .checks
                .iter()
                .map(|c| CheckFacts {
                    name: c.name.clone(),
                    site: c.site.clone(),
                    layer: c.layer,
                    line: c.line,
                })
                .collect(),
        }
    }
}

impl From<&ZoneFile> for ZoneFacts {
    fn from(z: &ZoneFile) -> Self {
        Self {
            path: z.path.clone(),
            origin: z.origin.clone(),
            owners: z.owners.clone(),
        }
    }
}
