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
//! - [`policy`]: the per-service decision state machine, and the `Desired` state enactors
//!   follow (pure; time is a parameter).
//! - [`store`]: the seams between nodes — vote board, election, committed records, audit log.
//! - [`decide`]: the decision loop, while this node leads: engine in, durable commits out.
//! - [`enact`]: enactors following the committed state on every authority (DNS, VIP routes).
//! - [`alert`]: policy and enactment events to the pager: durable spool, sinks, noise control.
//! - [`dns`]: the authority that answers service names from the desired state.
//! - [`route`]: VIP routes and addresses in the kernel through rtnetlink, GARP / NA.
//! - [`metrics`]: the node's counters in the Prometheus text format.
//! - [`api`]: the admin HTTP API operators and the CLI use.
//! - [`node`]: wiring only — the roles and enactors the config asks for, one shutdown path.
//! - [`cli`]: the `switchback` command line.
//! - [`drill`]: planned switchover, verify, hold, switch back, report (DR drills).
//! - [`demo`]: stand-in site endpoints for the loopback demo.

pub mod alert;
pub mod api;
pub mod check;
pub mod cli;
pub mod config;
pub mod decide;
pub mod demo;
pub mod dns;
pub mod drill;
pub mod enact;
pub mod metrics;
pub mod model;
pub mod node;
pub mod policy;
pub mod probe;
pub mod route;
pub mod store;
pub mod tally;

// The shared test fixture names this crate `switchback`, as the tests, benches and examples that
// include the same file do.
/// Long mutation runs over the parsers that face the outside (`--ignored`; see hardening.md).
#[cfg(test)]
mod fuzz_parsers;

#[cfg(test)]
extern crate self as switchback;

/// Configs and observations for unit tests: the one fixture file that `tests/`, benches and
/// examples include too. At the crate root because it spans config, model and policy.
#[cfg(test)]
#[path = "../tests/support/fixture.rs"]
pub(crate) mod fixture;
