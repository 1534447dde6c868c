//! Maps a key path in TOML text to its 1-based line, using the toml crate's spans.
//!
//! Kept as one call ([`line_of`]) so it can be swapped for a shared config helper.

use toml::de::{DeTable, DeValue};

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// The line of the value at `path` (keys, or decimal indexes into arrays), e.g.
/// `["check", "2", "timeout"]`; falls back to the deepest part found, 0 when nothing is.
pub(crate) fn line_of(text: &str, path: &[&str]) -> usize {
    let Ok(root) = DeTable::parse(text) else {
        return 0;
    };
    let mut line = 0;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for seg in path {
        let value = if let Some(t) = table.take() {
            let Some((key, value)) = t.iter().find(|(k, _)| k.get_ref().as_ref() == *seg) else {
                break;
            };
            line = line_at(text, key.span().start);
            value
        } else if let Some(a) = array.take() {
            let Some(v) = seg.parse::<usize>().ok().and_then(|i| a.get(i)) else {
                break;
            };
            line = line_at(text, v.span().start);
            v
        } else {
            break;
        };
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    line
}

/// The line of every element of the top-level array `key` (one parse for the whole file).
pub(crate) fn element_lines(text: &str, key: &str) -> Vec<usize> {
    let Ok(root) = DeTable::parse(text) else {
        return Vec::new();
    };
    let found = root
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key);
    match found.map(|(_, v)| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().map(|v| line_at(text, v.span().start)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "# c\n[[check]]\nname = \"a\"\n\n[[check]]\nname = \"b\"\ntimeout = \"1s\"\n";

    #[test]
    fn finds_keys_inside_array_of_tables() {
        assert_eq!(line_of(TEXT, &["check", "0", "name"]), 3);
        assert_eq!(line_of(TEXT, &["check", "1", "timeout"]), 7);
    }

    #[test]
    fn element_lines_are_the_table_headers_or_first_keys() {
        let l = element_lines(TEXT, "check");
        assert_eq!(l.len(), 2);
        assert!(
            (2..=3).contains(&l[0]) && (5..=6).contains(&l[1]),
            "got {l:?}"
        );
    }

    #[test]
    fn missing_key_falls_back_to_its_table() {
        // The span of an array-of-tables entry starts at its header line.
        let l = line_of(TEXT, &["check", "1", "nope"]);
        assert!((5..=6).contains(&l), "got {l}");
    }
}
