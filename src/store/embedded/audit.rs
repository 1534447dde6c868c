//! The append-only JSONL audit log (`audit.jsonl`): one JSON object per line.
//!
//! Records are fsynced before `append` returns, one fsync per call: the decision task hands
//! over each step's records together (its input, or its commits' outputs), so batching is
//! per step, never across steps — an acknowledged switch must survive kill -9, and a timer
//! that would hold records back could lose them. A crash mid-append leaves a torn last line; on open it is moved to a side file
//! (`audit.jsonl.torn-<offset>`, nothing is thrown away) and the log truncated to its last
//! complete record. A bad line anywhere else is an error naming `path:line`.
//!
//! With rotation set (`[audit] max_size`, `keep`), an append that brings the file to
//! `max_size` renames it to `audit.jsonl.1` (older ones shift to `.2` … `.keep`, the oldest
//! beyond `keep` is deleted) and starts a new file; history reads on into the rotated files.

use super::Recovery;
use crate::policy::AuditRecord;
use crate::store::StoreError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

fn io(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { path, op, source }
}

/// How much of the log history reads at a time, from the end backwards.
const BLOCK: usize = 64 * 1024;

/// An open audit log, positioned for appending.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: PathBuf,
    file: File,
    /// Complete records in the file (so reading backwards can still name line numbers).
    lines: usize,
    /// Bytes in the file.
    size: u64,
    /// Rotate at this size, keeping this many rotated files.
    rotation: Option<(u64, usize)>,
}

/// Where a torn last line starts: its 1-based line number and byte offset.
type Torn = Option<(usize, u64)>;

/// Parse the log's bytes into records, plus the torn last line if there is one.
fn parse(path: &Path, bytes: &[u8]) -> Result<(usize, Torn), StoreError> {
    let mut records = 0usize;
    let mut offset = 0usize;
    let mut line_no = 0usize;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        match (serde_json::from_slice::<AuditRecord>(line), complete) {
            (Ok(_), true) => records += 1,
            // The final bytes, with no newline: the crash happened mid-append.
            (_, false) => return Ok((records, Some((line_no, offset as u64)))),
            (Err(e), true) => {
                return Err(StoreError::CorruptAudit {
                    path: path.to_path_buf(),
                    line: line_no,
                    detail: e.to_string(),
                });
            }
        }
        offset += line.len() + 1;
    }
    Ok((records, None))
}

/// Keep a torn tail in `audit.jsonl.torn-<offset>[.<n>]`, never overwriting an earlier one.
fn save_aside(path: &Path, offset: u64, tail: &[u8]) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("audit.jsonl");
    for n in 0u32..1000 {
        let side = match n {
            0 => path.with_file_name(format!("{name}.torn-{offset}")),
            n => path.with_file_name(format!("{name}.torn-{offset}.{n}")),
        };
        let mut f = match OpenOptions::new().write(true).create_new(true).open(&side) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&side, "create")(e)),
        };
        f.write_all(tail).map_err(io(&side, "write"))?;
        f.sync_all().map_err(io(&side, "fsync"))?;
        return Ok(side);
    }
    Err(StoreError::Io {
        path: path.to_path_buf(),
        op: "set aside torn tail",
        source: std::io::Error::other("1000 side files for one offset already exist"),
    })
}

impl AuditLog {
    /// Open (creating) the log, validating every line and setting aside a torn last line.
    pub(crate) fn open(path: &Path, recoveries: &mut Vec<Recovery>) -> Result<Self, StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io(path, "open"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(path, "read"))?;
        let (lines, torn) = parse(path, &bytes)?;
        if let Some((line, offset)) = torn {
            let tail = &bytes[offset as usize..];
            let side = save_aside(path, offset, tail)?;
            file.set_len(offset)
                .map_err(io(path, "truncate torn tail"))?;
            file.sync_all().map_err(io(path, "fsync"))?;
            if let Some(dir) = path.parent() {
                super::files::sync_dir(dir)?;
            }
            recoveries.push(Recovery::TornAuditTail {
                path: path.to_path_buf(),
                line,
                bytes: tail.len(),
                saved_to: side,
            });
        }
        let size = file.seek(SeekFrom::End(0)).map_err(io(path, "seek"))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            lines,
            size,
            rotation: None,
        })
    }

    /// Rotate once the file reaches `max_size` bytes, keeping `keep` rotated files.
    pub(crate) fn set_rotation(&mut self, max_size: u64, keep: usize) {
        self.rotation = Some((max_size, keep));
    }

    /// The `n`th rotated file (`audit.jsonl.n`; 1 is the newest).
    fn rotated(&self, n: usize) -> PathBuf {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("audit.jsonl");
        self.path.with_file_name(format!("{name}.{n}"))
    }

    /// Shift the rotated files up by one, move the current file to `.1`, start a new one.
    fn rotate(&mut self, keep: usize) -> Result<(), StoreError> {
        let gone = self.rotated(keep.max(1));
        match std::fs::remove_file(&gone) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&gone, "remove")(e)),
        }
        for n in (1..keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1)).map_err(io(&from, "rename"))?;
            }
        }
        if keep == 0 {
            std::fs::remove_file(&self.path).map_err(io(&self.path, "remove"))?;
        } else {
            std::fs::rename(&self.path, self.rotated(1)).map_err(io(&self.path, "rename"))?;
        }
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(io(&self.path, "open"))?;
        if let Some(dir) = self.path.parent() {
            super::files::sync_dir(dir)?;
        }
        self.lines = 0;
        self.size = 0;
        tracing::info!(path = %self.path.display(), keep, "audit log rotated");
        Ok(())
    }

    /// Append records (one write) and fsync before returning.
    pub(crate) fn append(&mut self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for record in records {
            serde_json::to_writer(&mut bytes, record).map_err(|source| StoreError::Encode {
                path: self.path.clone(),
                source,
            })?;
            bytes.push(b'\n');
        }
        self.file
            .write_all(&bytes)
            .map_err(io(&self.path, "append"))?;
        self.file.sync_data().map_err(io(&self.path, "fsync"))?;
        self.lines += records.len();
        self.size += bytes.len() as u64;
        if let Some((max, keep)) = self.rotation
            && self.size >= max
        {
            self.rotate(keep)?;
        }
        Ok(())
    }

    /// Up to `limit` records that pass `keep`, newest first, reading the file backwards in
    /// blocks so a long log costs only what is asked for, then on into the rotated files.
    pub(crate) fn read_newest(
        &self,
        mut keep: impl FnMut(&AuditRecord) -> bool,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut out = self.read_newest_in_blocks(&mut keep, limit, BLOCK)?;
        let mut n = 1;
        while out.len() < limit {
            let path = self.rotated(n);
            if !path.exists() {
                break;
            }
            let lines = count_lines(&path)?;
            read_file_newest(&path, lines, &mut keep, limit, BLOCK, &mut out)?;
            n += 1;
        }
        Ok(out)
    }

    fn read_newest_in_blocks(
        &self,
        mut keep: impl FnMut(&AuditRecord) -> bool,
        limit: usize,
        block: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut out = Vec::new();
        read_file_newest(&self.path, self.lines, &mut keep, limit, block, &mut out)?;
        Ok(out)
    }
}

/// Complete lines in a (rotated) file, so errors in it can name their line.
fn count_lines(path: &Path) -> Result<usize, StoreError> {
    let bytes = std::fs::read(path).map_err(io(path, "read"))?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count())
}

/// Push records of `path` (with `lines` complete lines) that pass `keep` onto `out`, newest
/// first, until `out` holds `limit`.
fn read_file_newest(
    path: &Path,
    lines: usize,
    keep: &mut impl FnMut(&AuditRecord) -> bool,
    limit: usize,
    block: usize,
    out: &mut Vec<AuditRecord>,
) -> Result<(), StoreError> {
    {
        let mut f = File::open(path).map_err(io(path, "open"))?;
        let mut pos = f.metadata().map_err(io(path, "stat"))?.len();
        // Bytes from `pos` on not yet handed out: whole lines, the first maybe cut at `pos`.
        let mut buf: Vec<u8> = Vec::new();
        let mut line_no = lines;
        while out.len() < limit {
            let body_end = buf.len().saturating_sub(1);
            let start = match buf[..body_end].iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if pos == 0 && !buf.is_empty() => 0,
                None if pos == 0 => break,
                None => {
                    let n = block.min(usize::try_from(pos).unwrap_or(block));
                    pos -= n as u64;
                    let mut chunk = vec![0; n];
                    f.seek(SeekFrom::Start(pos)).map_err(io(path, "seek"))?;
                    f.read_exact(&mut chunk).map_err(io(path, "read"))?;
                    chunk.extend_from_slice(&buf);
                    buf = chunk;
                    continue;
                }
            };
            let line = &buf[start..body_end];
            let record = serde_json::from_slice::<AuditRecord>(line).map_err(|e| {
                StoreError::CorruptAudit {
                    path: path.to_path_buf(),
                    line: line_no,
                    detail: format!("not an audit record (changed since the node started?): {e}"),
                }
            })?;
            if keep(&record) {
                out.push(record);
            }
            line_no = line_no.saturating_sub(1);
            buf.truncate(start);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::policy::{Command, Input};
    use proptest::prelude::*;

    /// A record whose line is about `pad` bytes longer than the shortest.
    fn record(i: usize, pad: usize) -> AuditRecord {
        AuditRecord::input(
            Timestamp(i as u64),
            Input::Command(Command::Reject {
                service: "crm".into(),
                by: "x".repeat(pad),
            }),
        )
    }

    proptest! {
        /// Backwards block reads give exactly the forward parse, reversed, for any record
        /// sizes, block size and limit.
        #[test]
        fn backwards_equals_forward_reversed(
            sizes in proptest::collection::vec(0usize..300, 0..40),
            block in 1usize..700,
            limit in 0usize..50,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("audit.jsonl");
            let records: Vec<AuditRecord> =
                sizes.iter().enumerate().map(|(i, n)| record(i, *n)).collect();
            // Written in one go (no fsync per record) so many cases run quickly.
            let text: String = records.iter().map(|r| format!("{}\n", r.to_line())).collect();
            std::fs::write(&path, text).unwrap();
            let log = AuditLog::open(&path, &mut Vec::new()).unwrap();
            let want: Vec<AuditRecord> = records.iter().rev().take(limit).cloned().collect();
            let got = log.read_newest_in_blocks(|_| true, limit, block).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn rotates_by_size_keeps_count_and_reads_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path, &mut Vec::new()).unwrap();
        let line = record(0, 0).to_line().len() as u64 + 1;
        // Three records per file, two rotated files kept.
        log.set_rotation(3 * line, 2);
        for i in 0..10 {
            log.append(&[record(i, 0)]).unwrap();
        }
        // 10 records: 0-2, 3-5, 6-8 filled and rotated; 9 is current. 0-2 fell off.
        assert!(dir.path().join("audit.jsonl.1").exists());
        assert!(dir.path().join("audit.jsonl.2").exists());
        assert!(!dir.path().join("audit.jsonl.3").exists());
        let all = log.read_newest(|_| true, 100).unwrap();
        let ats: Vec<u64> = all.iter().map(|r| r.at.0).collect();
        assert_eq!(ats, [9, 8, 7, 6, 5, 4, 3]);
        let some = log.read_newest(|_| true, 5).unwrap();
        assert_eq!(some.len(), 5);
        // A reopened log keeps appending to the current file and still reads across.
        drop(log);
        let log = AuditLog::open(&path, &mut Vec::new()).unwrap();
        assert_eq!(log.read_newest(|_| true, 100).unwrap().len(), 7);
    }

    #[test]
    fn backwards_read_names_the_corrupt_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path, &mut Vec::new()).unwrap();
        for i in 0..3 {
            log.append(&[record(i, 0)]).unwrap();
        }
        // Someone rewrites line 2 behind the node's back.
        let line = |i| record(i, 0).to_line();
        std::fs::write(&path, format!("{}\n[1]\n{}\n", line(0), line(2))).unwrap();
        let err = log.read_newest(|_| true, 10).unwrap_err();
        assert!(
            matches!(err, StoreError::CorruptAudit { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn parse_reports_torn_tail_and_corrupt_middle() {
        let p = Path::new("/x/audit.jsonl");
        let (a, b) = (record(1, 0).to_line(), record(2, 0).to_line());
        let text = format!("{a}\n{b}\n{{\"at\"");
        let (n, t) = parse(p, text.as_bytes()).unwrap();
        assert_eq!(n, 2);
        assert_eq!(t, Some((3, (a.len() + b.len() + 2) as u64)));
        // A complete but unparsable last line is not "torn": it is corruption.
        let err = parse(p, format!("{a}\nnope\n").as_bytes()).unwrap_err();
        assert!(
            matches!(err, StoreError::CorruptAudit { line: 2, .. }),
            "{err}"
        );
        // So is a JSON object that is not an audit record.
        let err = parse(p, b"{\"a\":1}\n").unwrap_err();
        assert!(
            matches!(err, StoreError::CorruptAudit { line: 1, .. }),
            "{err}"
        );
        let (n, t) = parse(p, b"").unwrap();
        assert!(n == 0 && t.is_none());
    }
}
