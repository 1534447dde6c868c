//! The node's TOML configuration: schema, loading (file + `SWITCHBACK__…` env), validation.

pub mod locate;
mod schema;

pub use locate::{Locator, locate};
pub use schema::*;
