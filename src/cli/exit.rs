//! Errors to exit codes (interfaces.md §1): 0 ok, 64 bad usage or config, 69 a required
//! service unreachable, 74 storage error, 1 anything else.

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::service::ServiceError;

/// Bad usage or configuration.
pub const USAGE: u8 = 64;
/// A required service unreachable.
pub const UNAVAILABLE: u8 = 69;
/// Storage error.
pub const IO_ERR: u8 = 74;
/// Anything else.
pub const FAILURE: u8 = 1;

/// A command line that cannot be served by this build or these arguments (exit 64).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for `err`: the first cause in its chain with a known meaning decides.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ServiceError>() {
            return e.kind().exit_code();
        }
        if cause.is::<ConfigError>() || cause.is::<clap::Error>() || cause.is::<UsageError>() {
            return USAGE;
        }
        if cause.is::<rusqlite::Error>() {
            return IO_ERR;
        }
    }
    FAILURE
}

/// Prints `err` with its causes on stderr and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("lane-agent: error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(config) = err.chain().find_map(|c| c.downcast_ref::<ConfigError>()) {
        for problem in config.problems() {
            eprintln!("  {problem}");
        }
    }
    ExitCode::from(code_for(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_cause_decides() {
        let store = ServiceError::storage("opening the store", "disk full");
        assert_eq!(
            code_for(&anyhow::Error::new(store).context("starting")),
            IO_ERR
        );
        let pos = ServiceError::unavailable("POS", "connection refused");
        assert_eq!(code_for(&pos.into()), UNAVAILABLE);
        let nested = ServiceError::Task {
            task: "engine",
            source: Box::new(ServiceError::storage("journal", "io")),
        };
        assert_eq!(code_for(&nested.into()), IO_ERR);
        let config = ConfigError::Invalid {
            path: "/x".into(),
            problems: vec![],
        };
        assert_eq!(
            code_for(&anyhow::Error::new(config).context("loading")),
            USAGE
        );
        assert_eq!(code_for(&anyhow::anyhow!("something else")), FAILURE);
    }
}
