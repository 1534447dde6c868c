//! The `switchback` command line (clap derive).
//!
//! `serve` and `check` work on a config file; the operator verbs (`status`, `switch`, `approve`,
//! `reject`, `maintenance`, `readmit`, `history`) talk HTTP to a node's admin API
//! ([`crate::api`]); `probe` and `drill` are placeholders the integrator fills.

mod alert;
mod args;
mod client;
mod error;
mod operator;
mod render;

pub use alert::{AlertTestError, alert_test};
pub use args::{
    AdminArgs, AlertCommand, Cli, Command, LogFormatArg, OnOff, ServeArgs, demo_config_path,
};
pub use client::AdminClient;
pub use error::CliError;
pub use operator::run_operator;
