//! Map a dotted key path (`service[1].policy.quorum`, `sites.bj.role`, `dns.listen[0]`) to the
//! 1-based line where it stands in a TOML text, so every problem can be printed as
//! `file:line: key: problem`.
//!
//! The `config` crate forgets where values came from; the `toml` crate's spanned document
//! (`toml::de::DeTable`) remembers, so errors are located by walking that document.
//! A path that only partly exists (a missing key) resolves to the deepest part that does,
//! e.g. a missing `node.id` points at the `[node]` header.

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A key inside a table.
    Key(String),
    /// An index inside an array (arrays of tables included).
    Index(usize),
}

/// Splits `service[1].policy.quorum` into `[Key(service), Index(1), Key(policy), Key(quorum)]`.
///
/// Unbalanced or non-numeric brackets are kept as part of the key text, so any input yields
/// some path (a key that matches nothing simply does not locate).
pub fn parse_path(key: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Segment::Key(name.to_owned()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else {
                out.push(Segment::Key(rest.to_owned()));
                break;
            };
            match stripped[..end].parse::<usize>() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => out.push(Segment::Key(stripped[..end].to_owned())),
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

/// A parsed TOML text that answers "which line holds this key?".
pub struct Locator<'i> {
    text: &'i str,
    root: DeTable<'i>,
}

impl<'i> Locator<'i> {
    /// Parses `text`; fails only on TOML syntax errors (which carry their own span).
    pub fn new(text: &'i str) -> Result<Self, toml::de::Error> {
        let root = DeTable::parse(text)?.into_inner();
        Ok(Self { text, root })
    }

    /// The 1-based line of `key`, or of its deepest existing ancestor; `None` if not even the
    /// first segment exists.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let mut best = None;
        walk(&self.root, &parse_path(key), &mut |o| best = Some(o));
        best.map(|o| self.line_at(o))
    }

    /// Whether the whole path exists in the text (as opposed to coming from defaults or env).
    pub fn contains(&self, key: &str) -> bool {
        let path = parse_path(key);
        let mut found = 0;
        walk(&self.root, &path, &mut |_| found += 1);
        !path.is_empty() && found == path.len()
    }

    /// The 1-based line holding byte offset `offset`.
    pub fn line_at(&self, offset: usize) -> usize {
        line_at(self.text, offset)
    }
}

/// The 1-based line holding byte `offset` of `text` (clamped to the end).
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Locates `key` in `text` in one call; `None` on a syntax error or an unknown first segment.
pub fn locate(text: &str, key: &str) -> Option<usize> {
    Locator::new(text).ok()?.line_of(key)
}

/// Walks `path` from `table`, calling `hit` with the start offset of every segment resolved.
fn walk(table: &DeTable<'_>, path: &[Segment], hit: &mut dyn FnMut(usize)) {
    let Some((Segment::Key(first), rest)) = path.split_first() else {
        return;
    };
    let Some((k, v)) = table.get_key_value(first.as_str()) else {
        return;
    };
    hit(k.span().start);
    walk_value(v.get_ref(), rest, hit);
}

fn walk_value(value: &DeValue<'_>, path: &[Segment], hit: &mut dyn FnMut(usize)) {
    match (value, path.first()) {
        (DeValue::Table(t), Some(Segment::Key(_))) => walk(t, path, hit),
        (DeValue::Array(a), Some(Segment::Index(i))) => {
            if let Some(e) = a.get(*i) {
                hit(e.span().start);
                walk_value(e.get_ref(), &path[1..], hit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# example
[node]
id = "x"

[sites.bj]
role = "primary"
[sites.sh]
role = "backup"

[[service]]
name = "crm"
addresses = { bj = ["10.1.0.1"], sh = ["10.2.0.1"] }
policy.quorum = 2

[[service]]
name = "billing"
names = [
  "a.",
  "b.",
]
[service.policy]
quorum = 3

[dns]
listen = ["127.0.0.1:53", "[::1]:53"]
"#;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("service[1].policy.quorum"),
            vec![
                Segment::Key("service".into()),
                Segment::Index(1),
                Segment::Key("policy".into()),
                Segment::Key("quorum".into()),
            ]
        );
        assert_eq!(
            parse_path("a[0][2]"),
            vec![
                Segment::Key("a".into()),
                Segment::Index(0),
                Segment::Index(2)
            ]
        );
        assert_eq!(
            parse_path("a[x"),
            vec![Segment::Key("a".into()), Segment::Key("[x".into())]
        );
    }

    #[test]
    fn locates_keys_tables_and_array_items() {
        let l = Locator::new(TEXT).expect("valid toml");
        assert_eq!(l.line_of("node.id"), Some(3));
        assert_eq!(l.line_of("sites.bj.role"), Some(6));
        assert_eq!(l.line_of("sites.sh"), Some(7));
        assert_eq!(l.line_of("service[0].name"), Some(11));
        assert_eq!(l.line_of("service[0].addresses.sh[0]"), Some(12));
        assert_eq!(l.line_of("service[0].policy.quorum"), Some(13));
        assert_eq!(l.line_of("service[1]"), Some(15));
        assert_eq!(l.line_of("service[1].names[1]"), Some(19));
        assert_eq!(l.line_of("service[1].policy.quorum"), Some(22));
        assert_eq!(l.line_of("dns.listen[1]"), Some(25));
    }

    #[test]
    fn missing_keys_fall_back_to_the_deepest_ancestor() {
        let l = Locator::new(TEXT).expect("valid toml");
        assert_eq!(l.line_of("node.domain"), Some(2));
        assert_eq!(l.line_of("service[1].policy.hold_down"), Some(21));
        assert_eq!(l.line_of("service[7].name"), Some(10));
        assert_eq!(l.line_of("store.kind"), None);
        assert!(l.contains("service[1].names[0]"));
        assert!(!l.contains("service[1].names[2]"));
    }

    #[test]
    fn syntax_errors_do_not_locate() {
        assert_eq!(locate("[node\nid = 1", "node.id"), None);
        assert_eq!(locate(TEXT, "sites.bj.role"), Some(6));
    }
}
