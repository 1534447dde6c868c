//! `[audit]`: rotation of the embedded store's audit log by size, with a kept count.
//!
//! ```toml
//! [audit]
//! max_size = "64MiB"   # rotate audit.jsonl once it reaches this size (B, KiB, MiB, GiB)
//! keep = 10            # rotated files kept: audit.jsonl.1 (newest) .. audit.jsonl.10
//! ```

use super::ctx::Ctx;
use super::table::Count;
use serde::Deserialize;

/// `[audit]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    #[serde(default = "default_max_size")]
    max_size: String,
    #[serde(default = "default_keep")]
    keep: Count,
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            max_size: default_max_size(),
            keep: default_keep(),
        }
    }
}

fn default_max_size() -> String {
    "64MiB".to_owned()
}

fn default_keep() -> Count {
    Count(10)
}

/// `[audit]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditSection {
    /// Rotate the audit log once it reaches this many bytes.
    pub max_size: u64,
    /// How many rotated files to keep (0: the old log is deleted on rotation).
    pub keep: usize,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            max_size: 64 << 20,
            keep: 10,
        }
    }
}

/// A size such as `64MiB`, `500KiB`, `1GiB` or a plain number of bytes.
pub(crate) fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?}: want e.g. 64MiB, 500KiB or bytes"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; known: B, KiB, MiB, GiB"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// Validate `[audit]`.
pub(crate) fn section(raw: RawAudit, ctx: &mut Ctx<'_>) -> AuditSection {
    let max_size = ctx
        .parse("audit.max_size", size(&raw.max_size))
        .unwrap_or(AuditSection::default().max_size);
    if max_size < 4096 {
        ctx.bad("audit.max_size", "below 4KiB: every append would rotate");
    }
    AuditSection {
        max_size,
        keep: raw.keep.0,
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes() {
        assert_eq!(size("64MiB"), Ok(64 << 20));
        assert_eq!(size("4096"), Ok(4096));
        assert_eq!(size("2 GiB"), Ok(2 << 30));
        assert!(size("12XB").is_err());
        assert!(size("MiB").is_err());
    }
}
