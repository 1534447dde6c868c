//! Tables that are only tables. serde's derived structs also accept a sequence by position,
//! so `policy = ["manual"]` would fill `mode` and `policy = []` would mean every default
//! (`mode = "auto"`). Every struct-typed key of the raw schema goes through these helpers
//! (`#[serde(deserialize_with = "table::one")]`), which accept a table and nothing else.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Unexpected, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// `T` read from a table only; an array, string, number or empty value is refused.
struct Table<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table (`key = { ... }` or a `[section]`), not a list or a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(PhantomData)).map(Table)
    }
}

/// One table.
pub(crate) fn one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Table::deserialize(d).map(|t| t.0)
}

/// An optional table.
pub(crate) fn opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Table<T>>::deserialize(d).map(|o| o.map(|t| t.0))
}

/// An array of tables (`[[service]]`): each element must be a table.
pub(crate) fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Vec::<Table<T>>::deserialize(d).map(|v| v.into_iter().map(|t| t.0).collect())
}

/// A table of tables (`[sites.bj]`): each value must be a table.
pub(crate) fn map<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<String, T>, D::Error> {
    BTreeMap::<String, Table<T>>::deserialize(d)
        .map(|m| m.into_iter().map(|(k, t)| (k, t.0)).collect())
}

/// A whole, non-negative number. The config crate would silently truncate `1.5` to 1 for a
/// plain `usize`; this refuses floats (and negative numbers) instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Count(pub(crate) usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                usize::try_from(v)
                    .map(Count)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                    .and_then(|u| self.visit_u64(u))
            }
        }
        d.deserialize_any(V)
    }
}
