//! The node's TOML configuration: schema, loading (file + `SWITCHBACK__…` env), validation.
//!
//! - [`load`] reads one config file plus `SWITCHBACK__SECTION__KEY` overrides into [`Config`],
//!   reporting every problem as `file:line: key: problem` ([`ConfigErrors`]).
//! - [`locate()`] maps a dotted key to its line in a TOML text (also used for probes files).
//! - [`check`] runs `load` plus every referenced file and their cross-references, for
//!   `switchback check`: [`CheckSummary`] (one screen) or [`CheckErrors`].

mod check;
mod ctx;
mod error;
mod facts;
mod load;
pub mod locate;
mod raw;
mod schema;
mod summary;
mod validate;
mod validate_alert;
mod validate_policy;
mod validate_service;
mod values;

pub use check::{CheckErrors, CheckSummary, check};
pub use error::{ConfigError, ConfigErrors, Origin};
pub use facts::{CheckFacts, ProbesFacts, ZoneFacts};
pub use load::load;
pub use locate::{Locator, locate};
pub use schema::*;

#[cfg(test)]
mod tests;
