//! Probe: checks at the app, host and link layers, rise/fall, self-checks, observations.
pub mod defs;
