//! The `switchback` binary: parse the command line, run it, map errors to exit codes.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
