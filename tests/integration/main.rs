//! All integration suites in one test binary; each runs the real `switchback` binary or real peers.

mod check;
mod cli;
mod harness;
mod restart;
