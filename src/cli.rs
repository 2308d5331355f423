//! Command-line entry point (placeholder until the service issue lands).

use std::process::ExitCode;

/// Parses arguments and runs the chosen subcommand.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
