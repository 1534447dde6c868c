//! RFC 1035 zone files from `zones/`, parsed by hickory's master-file parser.
//!
//! The loader keeps the parsed record sets so the authority can serve them, and the owner
//! names so `check` can refuse a service name that is also a static record.

use hickory_server::proto::rr::{Name, RData, RecordSet, RecordType, RrKey, rdata::SOA};
use hickory_server::proto::serialize::txt::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One parsed zone file.
#[derive(Clone, Debug)]
pub struct ZoneFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The zone apex, lower case with a trailing dot.
    pub origin: String,
    /// Every owner name with a record, lower case with a trailing dot.
    pub owners: BTreeSet<String>,
    /// The apex as a DNS name.
    pub apex: Name,
    /// The SOA as written in the file.
    pub soa: SOA,
    /// The SOA record's own TTL as written.
    pub soa_ttl: u32,
    /// Every record set of the file, SOA included.
    pub records: BTreeMap<RrKey, RecordSet>,
    /// Best-effort first line (1-based) of each owner, for error messages.
    pub owner_lines: BTreeMap<String, usize>,
}

impl ZoneFile {
    /// The 1-based line where `owner` (lower case, trailing dot) is first written, 0 if unknown.
    pub fn line_of(&self, owner: &str) -> usize {
        self.owner_lines.get(owner).copied().unwrap_or(0)
    }
}

/// A zone file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {problem}", path.display())]
pub struct ZoneFileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Reads and parses a zone file; the origin comes from `$ORIGIN` or the file name.
pub fn load(path: &Path) -> Result<ZoneFile, ZoneFileError> {
    let err = |line: usize, problem: String| ZoneFileError {
        path: path.to_owned(),
        line,
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
    parse(path, &text)
}

/// Parses zone text that was read from `path` (the path only names errors and `$INCLUDE`s).
pub fn parse(path: &Path, text: &str) -> Result<ZoneFile, ZoneFileError> {
    let err = |line: usize, problem: String| ZoneFileError {
        path: path.to_owned(),
        line,
        problem,
    };
    let fallback_origin = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| Name::from_ascii(s).ok());
    let run =
        |t: &str| Parser::new(t.to_owned(), Some(path.to_owned()), fallback_origin.clone()).parse();
    let (apex, records) = run(text).map_err(|e| {
        let problem = e.to_string();
        err(
            error_line(text, &problem, |t| run(t).err().map(|e| e.to_string())),
            format!("parse error: {problem}"),
        )
    })?;
    let apex = apex.to_lowercase();
    let origin = fqdn_text(&apex);
    let soa_set = records
        .get(&RrKey::new(apex.clone().into(), RecordType::SOA))
        .ok_or_else(|| err(0, format!("no SOA record at the apex {origin}")))?;
    let soa_record = soa_set
        .records_without_rrsigs()
        .next()
        .ok_or_else(|| err(0, format!("empty SOA record set at {origin}")))?;
    let RData::SOA(soa) = &soa_record.data else {
        return Err(err(0, format!("SOA at {origin} is not an SOA")));
    };
    let (soa, soa_ttl) = (soa.clone(), soa_record.ttl);
    if !records.contains_key(&RrKey::new(apex.clone().into(), RecordType::NS)) {
        return Err(err(0, format!("no NS record at the apex {origin}")));
    }
    let mut owners = BTreeSet::new();
    for key in records.keys() {
        let owner = fqdn_text(&Name::from(key.name()));
        if !owner.ends_with(&origin) {
            return Err(err(
                0,
                format!("record {owner} is outside the zone {origin}"),
            ));
        }
        owners.insert(owner);
    }
    Ok(ZoneFile {
        path: path.to_owned(),
        owner_lines: owner_lines(text, &origin),
        origin,
        owners,
        apex,
        soa,
        soa_ttl,
        records,
    })
}

/// The 1-based line where parsing first fails with `problem` (hickory's errors carry no line):
/// the shortest prefix of lines that fails the same way, found by bisection; 0 if none does.
fn error_line(text: &str, problem: &str, fails: impl Fn(&str) -> Option<String>) -> usize {
    let ends: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain([text.len()])
        .collect();
    let same = |k: usize| fails(&text[..ends[k - 1]]).as_deref() == Some(problem);
    let (mut lo, mut hi) = (1, ends.len());
    if !same(hi) {
        return 0;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if same(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// A name as lower-case text with a trailing dot.
pub(crate) fn fqdn_text(name: &Name) -> String {
    let mut s = name.to_lowercase().to_ascii();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// Scans the text for the first line of each owner name (handles `@`, relative names, `$ORIGIN`).
fn owner_lines(text: &str, origin: &str) -> BTreeMap<String, usize> {
    let mut current_origin = origin.to_owned();
    let mut lines = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        if line.starts_with([' ', '\t', ';', '(', ')']) {
            continue;
        }
        if first.eq_ignore_ascii_case("$ORIGIN") {
            if let Some(o) = line.split_whitespace().nth(1) {
                current_origin = absolute_in(o, &current_origin);
            }
            continue;
        }
        if first.starts_with('$') {
            continue;
        }
        lines
            .entry(absolute_in(first, &current_origin))
            .or_insert(i + 1);
    }
    lines
}

fn absolute_in(name: &str, origin: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "@" {
        origin.to_owned()
    } else if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.{origin}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "$ORIGIN Boss.Example.\n$TTL 30\n@ IN SOA ns1 noc 7 3600 600 86400 10\n\
        @ IN NS ns1\nns1 IN A 192.0.2.53\nportal 60 IN A 10.1.0.20\n";

    #[test]
    fn parses_origin_owners_soa_and_lines() {
        let z = parse(Path::new("zones/boss.example.zone"), ZONE).expect("parse");
        assert_eq!(z.origin, "boss.example.");
        assert!(z.owners.contains("portal.boss.example."));
        assert!(z.owners.contains("boss.example."));
        assert_eq!(z.soa.serial, 7);
        assert_eq!(z.soa.minimum, 10);
        assert_eq!(z.line_of("portal.boss.example."), 6);
        assert_eq!(z.line_of("boss.example."), 3);
    }

    #[test]
    fn missing_soa_is_an_error_naming_the_file() {
        let e = parse(
            Path::new("z.zone"),
            "$ORIGIN a.example.\n$TTL 5\n@ IN NS ns\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("z.zone:0: no SOA"), "{e}");
    }

    #[test]
    fn parse_errors_name_their_line() {
        let text = "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 30\n\
            @ IN NS ns1\nns1 IN A 10.1.0.53\nbad IN A 10.1.0.300\nok IN A 10.1.0.1\n";
        let e = parse(Path::new("z.zone"), text).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.to_string().starts_with("z.zone:6: parse error"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(Path::new("z.zone"), "@ IN SOA (((\n\0\u{1}").is_err());
    }
}
