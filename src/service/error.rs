//! Why the service stopped, and which exit code that maps to.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::ConfigError;

/// Any error a task may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure, in the terms of the exit codes in interfaces.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad usage or configuration: exit 64; systemd does not restart (RestartPreventExitStatus).
    Config,
    /// A required service (POS, terminal) unreachable: exit 69.
    Unavailable,
    /// Storage error: exit 74.
    Storage,
    /// Anything else: exit 1.
    Other,
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Config => 64,
            Self::Unavailable => 69,
            Self::Storage => 74,
            Self::Other => 1,
        }
    }
}

/// Errors of the service lifecycle.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The configuration is invalid or unreadable.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// A required service could not be reached at start.
    #[error("{what} is unreachable")]
    Unavailable {
        /// What could not be reached.
        what: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The store could not be opened or written.
    #[error("storage failed: {what}")]
    Storage {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The API's socket could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The configured `api.listen`.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
    /// A task failed; its error decides the exit code through its own kind if it has one.
    #[error("task {task} failed")]
    Task {
        /// The task's name.
        task: &'static str,
        /// Its error.
        #[source]
        source: BoxError,
    },
    /// A task ended although no stop was requested.
    #[error("task {task} ended unexpectedly")]
    TaskEnded {
        /// The task's name.
        task: &'static str,
    },
    /// Tasks did not finish within the grace period and were aborted.
    #[error("stop took longer than {grace:?}; aborted: {}", tasks.join(", "))]
    StopTimeout {
        /// The grace period.
        grace: Duration,
        /// The tasks still running at the deadline.
        tasks: Vec<&'static str>,
    },
}

impl ServiceError {
    /// The kind of failure, deciding the exit code. A failed task's own error is looked
    /// at through its source chain, so a store error inside a task still exits 74.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Storage { .. } => ErrorKind::Storage,
            Self::Task { source, .. } => {
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
                while let Some(err) = cause {
                    if let Some(inner) = err.downcast_ref::<ServiceError>() {
                        return inner.kind();
                    }
                    cause = err.source();
                }
                ErrorKind::Other
            }
            Self::Listen { .. }
            | Self::Signals(_)
            | Self::TaskEnded { .. }
            | Self::StopTimeout { .. } => ErrorKind::Other,
        }
    }

    /// Wraps an error as unreachable-service (exit 69).
    pub fn unavailable(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            what: what.into(),
            source: source.into(),
        }
    }

    /// Wraps an error as a storage failure (exit 74).
    pub fn storage(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Storage {
            what: what.into(),
            source: source.into(),
        }
    }
}
