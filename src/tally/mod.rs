//! Tally: which probe observations count, and quorum arithmetic over them. Pure: no clock, no I/O.
//!
//! # Layout
//! - `signed`: the wire format of a signed observation and how it is signed.
//! - `verifier`: signature, voter, domain, sequence and staleness filtering *before* the tally.
//! - `quiet`: rejected votes logged at most once per peer per window (still all counted).
//! - `book`: the latest verified observation per probe node, staleness, abstention, counting.

mod book;
mod quiet;
mod signed;
mod verifier;

pub use book::{Count, DomainSet, Recorded, Tally, VoteState};
pub use quiet::{RejectLog, log_rejected};
pub use signed::SignedObservation;
pub use verifier::{Rejected, Verifier};

#[cfg(test)]
mod tests;
