//! [`CliError`]: why an operator verb failed, naming the URL or file involved.

use std::path::PathBuf;

/// An operator verb's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The admin API could not be reached or its answer not read (the cause follows).
    #[error("{url}: cannot reach the admin API (is the node running? --admin URL)")]
    Http {
        /// The request URL.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The admin API said no.
    #[error("{url}: {status}: {message}")]
    Api {
        /// The request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The `error` field of its JSON answer (or the raw body).
        message: String,
    },
    /// The answer was not the JSON we expected.
    #[error("{url}: unexpected answer: {detail}")]
    BadAnswer {
        /// The request URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The token file could not be read.
    #[error("{path}: cannot read token file")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A write was asked for without a token.
    #[error("this command needs a token: --token, --token-file or SWITCHBACK_TOKEN")]
    NoToken,
    /// The subcommand is not an operator verb.
    #[error("{0}: not an admin API command")]
    NotOperator(&'static str),
}
