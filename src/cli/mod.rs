//! The clap command line.
