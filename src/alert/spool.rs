//! [`Spool`]: one sink's on-disk queue in `state_dir/alerts/<sink>/`.
//!
//! - `queue.jsonl`: every event, appended and fsynced *before* delivery is tried (a batch
//!   shares one fsync). A line torn by a crash mid-append is cut off at the next open.
//! - `cursor`: the sequence number of the last event that left the queue (acknowledged by the
//!   sink, or dead-lettered), rewritten in place. Delivery is in order, so one number says
//!   what is pending: every entry above it. The write survives a crash of the process at once
//!   (it is in the page cache); it is fsynced every [`SYNC_ACKS`] acks and whenever the queue
//!   empties, so only a crash of the whole machine can roll it back — and then a few events
//!   are delivered twice (with the same id), never lost.
//! - `dead.jsonl`: events given up on after `max_age`, with why.
//!
//! When everything is acknowledged the queue is truncated, so an idle spool takes no disk.
//! Every I/O error is returned with the path; the caller reports it and keeps delivering
//! from memory (a full disk costs durability, never the node).

use super::event::AlertEvent;
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Acks between fsyncs of the cursor.
pub const SYNC_ACKS: u32 = 64;
/// Truncate the queue once it is fully acknowledged and at least this big.
const COMPACT_AT: u64 = 1 << 20;

/// A spool file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("alert spool {path}: {what}: {source}")]
pub struct SpoolError {
    /// The file.
    pub path: PathBuf,
    /// What was being done.
    pub what: &'static str,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// One spooled event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its place in this sink's queue; 0 for an event that could not be spooled.
    pub seq: u64,
    /// When it entered the spool (its age decides dead-lettering).
    pub spooled_at: Timestamp,
    /// The event.
    pub event: AlertEvent,
}

/// One sink's spool.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    queue: File,
    cursor_file: File,
    /// The last sequence number that left the queue.
    cursor: u64,
    /// The last sequence number written.
    last: u64,
    /// Bytes in `queue.jsonl`.
    bytes: u64,
    /// Cursor writes not yet fsynced.
    unsynced: u32,
}

fn err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> SpoolError + 'a {
    move |source| SpoolError {
        path: path.to_owned(),
        what,
        source,
    }
}

impl Spool {
    /// Open (or create) the spool in `dir`; returns it with the entries still pending.
    pub fn open(dir: &Path) -> Result<(Spool, Vec<Entry>), SpoolError> {
        std::fs::create_dir_all(dir).map_err(err(dir, "create folder"))?;
        let cursor_path = dir.join("cursor");
        let cursor_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&cursor_path)
            .map_err(err(&cursor_path, "open"))?;
        let cursor = std::fs::read_to_string(&cursor_path)
            .map_err(err(&cursor_path, "read"))?
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
        let queue_path = dir.join("queue.jsonl");
        let queue = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&queue_path)
            .map_err(err(&queue_path, "open"))?;
        let mut pending = Vec::new();
        let mut good = 0u64;
        let mut last = cursor;
        let mut reader = BufReader::new(&queue);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(err(&queue_path, "read"))?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                break;
            };
            good += n as u64;
            last = last.max(entry.seq);
            if entry.seq > cursor {
                pending.push(entry);
            }
        }
        let len = queue.metadata().map_err(err(&queue_path, "stat"))?.len();
        if len != good {
            tracing::warn!(path = %queue_path.display(), kept = good, dropped = len - good,
                "alert spool: cutting a torn tail left by a crash");
            queue.set_len(good).map_err(err(&queue_path, "truncate"))?;
            queue.sync_data().map_err(err(&queue_path, "fsync"))?;
        }
        let spool = Spool {
            dir: dir.to_owned(),
            queue,
            cursor_file,
            cursor,
            last,
            bytes: good,
            unsynced: 0,
        };
        Ok((spool, pending))
    }

    /// Append `events` and fsync once; returns them numbered.
    pub fn append(
        &mut self,
        events: Vec<AlertEvent>,
        now: Timestamp,
    ) -> Result<Vec<Entry>, SpoolError> {
        let mut buf = Vec::new();
        let mut out = Vec::with_capacity(events.len());
        let mut seq = self.last;
        for event in events {
            seq += 1;
            let entry = Entry {
                seq,
                spooled_at: now,
                event,
            };
            // An AlertEvent always serialises (strings, numbers and maps of strings).
            serde_json::to_writer(&mut buf, &entry).unwrap_or_default();
            buf.push(b'\n');
            out.push(entry);
        }
        let path = self.dir.join("queue.jsonl");
        if let Err(e) = self.queue.write_all(&buf) {
            // Cut whatever part was written, so the file stays whole lines.
            let _ = self.queue.set_len(self.bytes);
            return Err(err(&path, "append")(e));
        }
        self.queue.sync_data().map_err(err(&path, "fsync"))?;
        self.bytes += buf.len() as u64;
        self.last = seq;
        Ok(out)
    }

    /// `seq` (and everything before it) left the queue.
    pub fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        if seq == 0 || seq <= self.cursor {
            return Ok(());
        }
        let path = self.dir.join("cursor");
        let text = format!("{seq:020}\n");
        self.cursor_file
            .write_all_at(text.as_bytes(), 0)
            .map_err(err(&path, "write"))?;
        self.cursor = seq;
        self.unsynced += 1;
        if self.unsynced >= SYNC_ACKS || self.cursor == self.last {
            self.cursor_file.sync_data().map_err(err(&path, "fsync"))?;
            self.unsynced = 0;
        }
        if self.cursor == self.last && self.bytes >= COMPACT_AT {
            let q = self.dir.join("queue.jsonl");
            self.queue.set_len(0).map_err(err(&q, "truncate"))?;
            self.queue.sync_data().map_err(err(&q, "fsync"))?;
            self.bytes = 0;
        }
        Ok(())
    }

    /// Give up on `entry`: append it to `dead.jsonl` with `why`, then let it leave the queue.
    pub fn dead_letter(
        &mut self,
        entry: &Entry,
        why: &str,
        now: Timestamp,
    ) -> Result<(), SpoolError> {
        let path = self.dir.join("dead.jsonl");
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(err(&path, "open"))?;
        let line = serde_json::json!({"dead_at": now, "why": why, "entry": entry});
        // Dead letters are rare: the cursor that drops the entry is fsynced at once.
        self.unsynced = SYNC_ACKS;
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(err(&path, "append"))?;
        f.sync_data().map_err(err(&path, "fsync"))?;
        self.ack(entry.seq)
    }

    /// Bytes the queue file takes now.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Entries spooled and not yet acknowledged.
    pub fn pending(&self) -> u64 {
        self.last - self.cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::event::Action;
    use crate::config::Severity;

    fn ev(i: u64) -> AlertEvent {
        AlertEvent::new(
            "test",
            "test",
            Action::Notice,
            format!("test/{i}"),
            Severity::Info,
            "t".into(),
            "n1".into(),
            Timestamp(i),
        )
    }

    #[test]
    fn pending_survives_reopen_and_acks_stick() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut s, pending) = Spool::open(dir.path()).expect("open");
        assert!(pending.is_empty());
        let e = s
            .append((1..=5).map(ev).collect(), Timestamp(7))
            .expect("append");
        assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        s.ack(2).expect("ack");
        drop(s);
        let (mut s, pending) = Spool::open(dir.path()).expect("reopen");
        assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        let e = s.append(vec![ev(6)], Timestamp(8)).expect("append");
        assert_eq!(e[0].seq, 6, "numbers continue after a restart");
    }

    #[test]
    fn a_torn_tail_is_cut_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut s, _) = Spool::open(dir.path()).expect("open");
        s.append(vec![ev(1), ev(2)], Timestamp(1)).expect("append");
        drop(s);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("queue.jsonl"))
            .expect("open queue");
        f.write_all(b"{\"seq\":3,\"spooled_").expect("tear");
        drop(f);
        let (mut s, pending) = Spool::open(dir.path()).expect("reopen");
        assert_eq!(pending.len(), 2);
        let e = s.append(vec![ev(3)], Timestamp(2)).expect("append");
        assert_eq!(e[0].seq, 3);
        drop(s);
        let (_, pending) = Spool::open(dir.path()).expect("reopen");
        assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn dead_letters_leave_the_queue_and_a_full_ack_compacts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut s, _) = Spool::open(dir.path()).expect("open");
        let e = s.append(vec![ev(1)], Timestamp(1)).expect("append");
        s.dead_letter(&e[0], "HTTP 500 for 24h", Timestamp(2))
            .expect("dead");
        let dead = std::fs::read_to_string(dir.path().join("dead.jsonl")).expect("dead file");
        assert!(dead.contains("HTTP 500 for 24h"), "{dead}");
        assert_eq!(s.pending(), 0);
        let many: Vec<AlertEvent> = (0..6000).map(ev).collect();
        let e = s.append(many, Timestamp(3)).expect("append");
        assert!(s.bytes() >= COMPACT_AT, "{}", s.bytes());
        s.ack(e.last().expect("entries").seq).expect("ack");
        assert_eq!(s.bytes(), 0);
        drop(s);
        let (_, pending) = Spool::open(dir.path()).expect("reopen");
        assert!(pending.is_empty());
    }

    #[test]
    fn an_unwritable_folder_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").expect("write");
        let e = Spool::open(&file.join("sink")).expect_err("cannot create below a file");
        assert!(e.to_string().contains("not-a-dir"), "{e}");
    }
}
