//! All integration suites in one test binary; each runs the real `switchback` binary or real peers.
mod dns_answers;
mod dns_atomic;
mod dns_restart;
mod dns_secondary;
mod dns_support;
mod dns_transfer;
