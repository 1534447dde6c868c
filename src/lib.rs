//! switchback keeps a telecom operator's BOSS service names and VIPs on a working data centre.
//!
//! # Layout
//!
//! In data-flow order:
//! - [`config`]: the TOML schema, loading and validation with file/line/key in every error.
//! - [`model`]: typed ids, health, observations and decisions shared by every stage.
//! - [`probe`]: checks at the app, host and link layers that build observations.
//! - [`tally`]: the latest valid observation per probe, staleness, abstention, quorum (pure).
//! - [`policy`]: the per-service decision state machine (pure; time is a parameter).
//! - [`store`]: where committed decisions, operator state and the audit log live.
//! - [`dns`]: the authority that answers service names from the committed decision.
//! - [`api`]: the admin HTTP API operators and the CLI use.
//! - [`node`]: wiring of the roles' tasks, one shutdown path.
//! - [`cli`]: the `switchback` command line.
//! - [`demo`]: stand-in site endpoints for the loopback demo.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dns;
pub mod model;
pub mod node;
pub mod policy;
pub mod probe;
pub mod store;
pub mod tally;

// The shared test fixture names this crate `switchback`, as the tests, benches and examples that
// include the same file do.
#[cfg(test)]
extern crate self as switchback;

/// Configs and observations for unit tests: the one fixture file that `tests/`, benches and
/// examples include too. At the crate root because it spans config, model and policy.
#[cfg(test)]
#[path = "../tests/support/fixture.rs"]
pub(crate) mod fixture;
