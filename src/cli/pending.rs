//! Subcommands that need the engine and store; they are wired by the integration step.
//!
//! Each returns [`NotWired`] (exit 1) until then, so a technician sees a clear message
//! rather than a silent success.

use super::{DoctorArgs, OutboxArgs, StatusArgs};

/// A subcommand whose implementation is not connected to the engine yet.
#[derive(Debug, thiserror::Error)]
#[error("`lane-agent {0}` is not wired to the engine yet in this build")]
pub struct NotWired(pub &'static str);

/// `lane-agent status`.
pub fn status(_args: &StatusArgs) -> anyhow::Result<()> {
    Err(NotWired("status").into())
}

/// `lane-agent outbox …`.
pub fn outbox(_args: &OutboxArgs) -> anyhow::Result<()> {
    Err(NotWired("outbox").into())
}

/// `lane-agent doctor`.
pub fn doctor(_args: &DoctorArgs) -> anyhow::Result<()> {
    Err(NotWired("doctor").into())
}
