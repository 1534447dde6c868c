//! switchback keeps a telecom operator's BOSS service names and VIPs on a working data centre.
//!
//! # Layout
//!
//! In data-flow order:
//! - [`config`]: the TOML schema, loading and validation with file/line/key in every error.
//! - [`check`]: `switchback check`: the config plus every file it refers to (probes, zones)
//!   and their cross-references.
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
pub mod check;
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
