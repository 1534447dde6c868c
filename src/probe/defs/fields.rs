//! Typed, located reads of one `[[check]]` table; every key read is marked consumed so
//! [`Fields::finish`] can report the rest as unknown.

use crate::config::locate::line_at;
use std::collections::BTreeSet;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value of the spanned document, borrowing the file's text.
type Value<'i> = Spanned<DeValue<'i>>;

/// The TOML type name of a value, for "expected X, found Y".
fn type_str(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "float",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "table",
    }
}

fn as_str<'a>(v: &'a DeValue<'_>) -> Option<&'a str> {
    match v {
        DeValue::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

fn as_int(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

/// Where problems go: `(line, key, problem)`.
pub(crate) type Report<'r> = dyn FnMut(usize, String, String) + 'r;

/// One check table being read.
pub(crate) struct Fields<'a, 'r> {
    text: &'a str,
    index: usize,
    line: usize,
    table: Option<&'a DeTable<'a>>,
    used: BTreeSet<&'a str>,
    report: &'a mut Report<'r>,
    /// Set once any problem was reported for this check.
    pub(crate) failed: bool,
}

impl<'a, 'r> Fields<'a, 'r> {
    /// Starts reading check number `index` (0-based) of the file.
    pub(crate) fn new(
        text: &'a str,
        index: usize,
        value: &'a Value<'a>,
        report: &'a mut Report<'r>,
    ) -> Self {
        let mut f = Fields {
            text,
            index,
            line: line_at(text, value.span().start),
            table: match value.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            },
            used: BTreeSet::new(),
            report,
            failed: false,
        };
        if f.table.is_none() {
            f.fail_table("must be a table");
        }
        f
    }

    /// The 1-based line of this check's table.
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    fn key_path(&self, key: &str) -> String {
        format!("check[{}].{key}", self.index)
    }

    /// Reports a problem at `key` of this check.
    pub(crate) fn fail(&mut self, key: &str, problem: impl Into<String>) {
        let line = self
            .table
            .and_then(|t| t.get_key_value(key))
            .map_or(self.line, |(k, _)| line_at(self.text, k.span().start));
        let path = self.key_path(key);
        (self.report)(line, path, problem.into());
        self.failed = true;
    }

    fn fail_table(&mut self, problem: &str) {
        let line = self.line();
        (self.report)(line, format!("check[{}]", self.index), problem.into());
        self.failed = true;
    }

    fn raw(&mut self, key: &'static str) -> Option<&'a DeValue<'a>> {
        let v = self.table?.get(key)?;
        self.used.insert(key);
        Some(v.get_ref())
    }

    /// Whether `key` is present (without consuming it).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.get(key).is_some())
    }

    /// An optional string.
    pub(crate) fn opt_str(&mut self, key: &'static str) -> Option<&'a str> {
        let v = self.raw(key)?;
        match as_str(v) {
            Some(s) => Some(s),
            None => {
                self.fail(key, format!("expected a string, found {}", type_str(v)));
                None
            }
        }
    }

    /// A required string; reports `missing` when absent.
    pub(crate) fn req_str(&mut self, key: &'static str, what: &str) -> Option<&'a str> {
        if !self.has(key) {
            self.fail_missing(key, what);
            return None;
        }
        self.opt_str(key)
    }

    /// Reports a required key as missing (at the check's table line).
    pub(crate) fn fail_missing(&mut self, key: &str, what: &str) {
        let line = self.line();
        let path = self.key_path(key);
        (self.report)(line, path, format!("missing ({what})"));
        self.failed = true;
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&mut self, key: &'static str) -> Option<bool> {
        let v = self.raw(key)?;
        let b = v.as_bool();
        if b.is_none() {
            self.fail(
                key,
                format!("expected true or false, found {}", v.type_str()),
            );
        }
        b
    }

    /// An optional integer within `lo..=hi`.
    pub(crate) fn opt_int(&mut self, key: &'static str, lo: i64, hi: i64) -> Option<i64> {
        let v = self.raw(key)?;
        match as_int(v) {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            Some(n) => {
                self.fail(key, format!("{n} is out of range {lo}..={hi}"));
                None
            }
            None => {
                self.fail(key, format!("expected an integer, found {}", type_str(v)));
                None
            }
        }
    }

    /// An optional number (integer or float) within `lo..=hi`.
    pub(crate) fn opt_num(&mut self, key: &'static str, lo: f64, hi: f64) -> Option<f64> {
        let v = self.raw(key)?;
        let n = match v {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => as_int(v).map(|i| i as f64),
        };
        match n {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            Some(n) => {
                self.fail(key, format!("{n} is out of range {lo}..={hi}"));
                None
            }
            None => {
                self.fail(key, format!("expected a number, found {}", type_str(v)));
                None
            }
        }
    }

    /// An optional humantime duration such as `"250ms"`; must be above zero.
    pub(crate) fn opt_dur(&mut self, key: &'static str) -> Option<Duration> {
        let s = self.opt_str(key)?;
        match humantime::parse_duration(s) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.fail(key, "must be above zero");
                None
            }
            Err(e) => {
                self.fail(key, format!("invalid duration {s:?}: {e}"));
                None
            }
        }
    }

    /// An optional value parsed from a string with `FromStr`.
    pub(crate) fn opt_parse<T: std::str::FromStr>(
        &mut self,
        key: &'static str,
        what: &str,
    ) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let s = self.opt_str(key)?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(key, format!("invalid {what} {s:?}: {e}"));
                None
            }
        }
    }

    /// An optional array of strings.
    pub(crate) fn opt_str_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        let v = self.raw(key)?;
        let list = match v {
            DeValue::Array(a) => a
                .iter()
                .map(|x| as_str(x.get_ref()).map(str::to_owned))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        if list.is_none() {
            self.fail(key, "expected an array of strings");
        }
        list
    }

    /// An optional array of integers within `lo..=hi`.
    pub(crate) fn opt_int_list(&mut self, key: &'static str, lo: i64, hi: i64) -> Option<Vec<i64>> {
        let v = self.raw(key)?;
        let list = match v {
            DeValue::Array(a) => a
                .iter()
                .map(|x| as_int(x.get_ref()).filter(|n| (lo..=hi).contains(n)))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        if list.is_none() {
            self.fail(key, format!("expected an array of integers in {lo}..={hi}"));
        }
        list
    }

    /// An optional table of string values.
    pub(crate) fn opt_str_table(
        &mut self,
        key: &'static str,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        let v = self.raw(key)?;
        let map = match v {
            DeValue::Table(t) => t
                .iter()
                .map(|(k, x)| as_str(x.get_ref()).map(|s| (k.get_ref().to_string(), s.to_owned())))
                .collect::<Option<_>>(),
            _ => None,
        };
        if map.is_none() {
            self.fail(key, "expected a table of strings");
        }
        map
    }

    /// Marks every key consumed (after a problem that makes the rest meaningless).
    pub(crate) fn consume_all(&mut self) {
        if let Some(t) = self.table {
            self.used
                .extend(t.iter().map(|(k, _)| k.get_ref().as_ref()));
        }
    }

    /// Reports every key that no read consumed.
    pub(crate) fn finish(mut self) {
        let Some(table) = self.table else { return };
        let unknown: Vec<&str> = table
            .iter()
            .map(|(k, _)| k.get_ref().as_ref())
            .filter(|k| !self.used.contains(k))
            .collect();
        for k in unknown {
            self.fail(k, "unknown key");
        }
    }
}
