//! The decision core's own suites, on switchback's public API: the simulator (seeded schedules on
//! virtual time, checked against the safety rules) and the golden scenarios of `tests/scenarios/`.
//!
//! Pure and fast (no peers, no root), so a test binary of their own: `cargo test --test policy`.

#[path = "../support/fixture.rs"]
mod fixture;
mod golden;
mod sim;
