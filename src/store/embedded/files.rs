//! Decision files: one `decisions/<service>.json` per service (its [`ServiceRecord`]),
//! replaced atomically.
//!
//! Write order: temp file, write, fsync it, rename over the target, fsync the directory. A crash
//! at any point leaves either the old file or the new one, plus at worst a stray temp file,
//! which [`load_dir`] removes and reports.

use super::Recovery;
use crate::model::{ServiceId, ServiceRecord};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".json";
const TMP_SUFFIX: &str = ".json.tmp";

fn io(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { path, op, source }
}

/// Service ids become file names, so only a safe alphabet is accepted.
pub(crate) fn file_stem(service: &ServiceId) -> Result<&str, StoreError> {
    let s = service.as_str();
    let ok = !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(s)
    } else {
        Err(StoreError::BadServiceName {
            service: service.clone(),
        })
    }
}

/// The decision file of one service.
pub(crate) fn decision_path(dir: &Path, service: &ServiceId) -> Result<PathBuf, StoreError> {
    Ok(dir.join(format!("{}{SUFFIX}", file_stem(service)?)))
}

/// Fsync a directory so a rename or create inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "fsync directory"))
}

/// Replace `dir/<service>.json` with `record`, atomically and durably.
pub(crate) fn write_decision(dir: &Path, record: &ServiceRecord) -> Result<(), StoreError> {
    let path = decision_path(dir, record.service())?;
    let tmp = dir.join(format!("{}{TMP_SUFFIX}", file_stem(record.service())?));
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|source| StoreError::Encode {
        path: path.clone(),
        source,
    })?;
    bytes.push(b'\n');
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io(&tmp, "create temp file"))?;
    f.write_all(&bytes).map_err(io(&tmp, "write"))?;
    f.sync_all().map_err(io(&tmp, "fsync"))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io(&path, "rename temp file over"))?;
    sync_dir(dir)
}

/// Parse one decision file and check it is about the service its name says.
fn read_decision(path: &Path, stem: &str) -> Result<ServiceRecord, StoreError> {
    let bytes = fs::read(path).map_err(io(path, "read"))?;
    let record: ServiceRecord =
        serde_json::from_slice(&bytes).map_err(|e| StoreError::CorruptDecision {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if record.service().as_str() != stem {
        return Err(StoreError::CorruptDecision {
            path: path.to_path_buf(),
            detail: format!(
                "holds service {:?}, file name says {stem:?}",
                record.service().as_str()
            ),
        });
    }
    Ok(record)
}

/// Load every record in `dir`; remove leftover temp files (a crash before rename) and report
/// them. Any unreadable decision file is an error naming its path.
pub(crate) fn load_dir(
    dir: &Path,
    recoveries: &mut Vec<Recovery>,
) -> Result<BTreeMap<ServiceId, ServiceRecord>, StoreError> {
    let mut out = BTreeMap::new();
    let entries = fs::read_dir(dir).map_err(io(dir, "read directory"))?;
    let mut removed_tmp = false;
    for entry in entries {
        let entry = entry.map_err(io(dir, "read directory"))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(TMP_SUFFIX) {
            fs::remove_file(&path).map_err(io(&path, "remove stray temp file"))?;
            recoveries.push(Recovery::StrayTempFile { path });
            removed_tmp = true;
        } else if let Some(stem) = name.strip_suffix(SUFFIX) {
            let record = read_decision(&path, stem)?;
            out.insert(record.service().clone(), record);
        }
    }
    if removed_tmp {
        sync_dir(dir)?;
    }
    Ok(out)
}
