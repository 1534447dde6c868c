//! SOA serials that never go backwards, not even across restarts.
//!
//! The state file holds, per zone, a *high-water mark*: a serial no served serial exceeds.
//! A restart starts above it. Bumps inside the reserved block need no disk write, so a switch
//! is not slowed by an fsync; when a bump would cross the mark, a new block is reserved
//! (written with write-temp, fsync, rename) *before* the new serial is served.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::DnsError;

/// How many serials one disk write reserves (a restart skips at most this many). Small, so
/// a restart does not make the serial jump by thousands (issue #13); serials change only on
/// decisions and health changes, so one fsync per 16 of them costs nothing.
const BLOCK: u32 = 16;

/// Name of the state file inside `state_dir`.
pub(crate) const FILE_NAME: &str = "dns-serials.json";

/// RFC 1982 "a is greater than b" for 32-bit serials.
pub(crate) fn serial_gt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// The persisted high-water marks and where they live.
#[derive(Debug)]
pub(crate) struct SerialStore {
    path: PathBuf,
    marks: BTreeMap<String, u32>,
}

impl SerialStore {
    /// Reads the state file in `state_dir` (absent means a first start).
    pub(crate) fn open(state_dir: &Path) -> Result<Self, DnsError> {
        let path = state_dir.join(FILE_NAME);
        let problem = |p: String| DnsError::SerialState {
            path: path.clone(),
            problem: p,
        };
        let marks = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| problem(format!("unreadable, refusing to guess a serial: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(problem(format!("cannot read: {e}"))),
        };
        Ok(Self { path, marks })
    }

    /// The first serial to serve for `zone` after a start, given the zone file's serial;
    /// reserves a block above it on disk.
    pub(crate) fn start(&mut self, zone: &str, file_serial: u32) -> Result<u32, DnsError> {
        let serial = match self.marks.get(zone) {
            Some(&mark) if !serial_gt(file_serial, mark) => mark.wrapping_add(1),
            _ => file_serial,
        };
        self.reserve(zone, serial)?;
        Ok(serial)
    }

    /// The serial after `current` for `zone`, reserving a new block first when needed.
    pub(crate) fn next(&mut self, zone: &str, current: u32) -> Result<u32, DnsError> {
        let next = current.wrapping_add(1);
        let covered = self
            .marks
            .get(zone)
            .is_some_and(|&mark| !serial_gt(next, mark));
        if !covered {
            self.reserve(zone, next)?;
        }
        Ok(next)
    }

    fn reserve(&mut self, zone: &str, serial: u32) -> Result<(), DnsError> {
        self.marks
            .insert(zone.to_owned(), serial.wrapping_add(BLOCK));
        self.write()
    }

    fn write(&self) -> Result<(), DnsError> {
        let problem = |p: String| DnsError::SerialState {
            path: self.path.clone(),
            problem: p,
        };
        let bytes = serde_json::to_vec_pretty(&self.marks)
            .map_err(|e| problem(format!("cannot encode: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| problem(format!("cannot create dir: {e}")))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut f =
            std::fs::File::create(&tmp).map_err(|e| problem(format!("cannot create temp: {e}")))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| problem(format!("cannot write temp: {e}")))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| problem(format!("cannot rename: {e}")))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_gt(1, u32::MAX));
        assert!(serial_gt(5, 4));
        assert!(!serial_gt(4, 4));
        assert!(!serial_gt(4, 5));
    }

    #[test]
    fn restart_never_goes_backwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SerialStore::open(dir.path()).expect("open");
        let mut serial = s.start("z.", 10).expect("start");
        assert_eq!(serial, 10);
        for _ in 0..2100 {
            let n = s.next("z.", serial).expect("next");
            assert!(serial_gt(n, serial));
            serial = n;
        }
        let mut again = SerialStore::open(dir.path()).expect("reopen");
        let restarted = again.start("z.", 10).expect("start");
        assert!(serial_gt(restarted, serial), "{restarted} !> {serial}");
        assert!(
            restarted - serial <= BLOCK,
            "a restart jumped {}",
            restarted - serial
        );
        // A zone file edited to a higher serial wins.
        let mut third = SerialStore::open(dir.path()).expect("reopen");
        assert_eq!(third.start("z.", 5000).expect("start"), 5000);
    }

    #[test]
    fn corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").expect("write");
        let e = SerialStore::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains(FILE_NAME), "{e}");
    }
}
