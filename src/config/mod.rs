//! The node's TOML configuration: schema, loading (file + `SWITCHBACK__…` env), validation.

mod schema;

pub use schema::*;
