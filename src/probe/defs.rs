//! Check definitions from `probes/*.toml`.
//!
//! CONTRACT STUB (owned by the probe work): keep `load`, `ProbeFile`, `CheckDef::{name, site, layer, line}`.

use crate::model::{CheckName, Layer, SiteId};
use std::path::{Path, PathBuf};

/// One parsed probes file.
#[derive(Clone, Debug)]
pub struct ProbeFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its checks in file order.
    pub checks: Vec<CheckDef>,
}

/// One check definition.
#[derive(Clone, Debug)]
pub struct CheckDef {
    /// Unique name within the node.
    pub name: CheckName,
    /// The site it measures; `None` for self-checks of the probe's own uplink.
    pub site: Option<SiteId>,
    /// The layer it measures.
    pub layer: Layer,
    /// 1-based line of its `[[check]]` table.
    pub line: usize,
}

/// A problem in a probes file, located as `file:line: key: problem`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {key}: {problem}", path.display())]
pub struct ProbeFileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// Dotted key, e.g. `check[2].timeout`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Reads and validates a probes file, returning every problem found.
pub fn load(path: &Path) -> Result<ProbeFile, Vec<ProbeFileError>> {
    Ok(ProbeFile {
        path: path.to_owned(),
        checks: Vec::new(),
    })
}
