//! Subcommands that need the engine and store; they are wired by the integration step.
//!
//! Each returns [`NotWired`] (exit 1) until then, so a technician sees a clear message
//! rather than a silent success.

use super::DoctorArgs;

/// A subcommand whose implementation is not connected to the engine yet.
#[derive(Debug, thiserror::Error)]
#[error("`lane-agent {0}` is not wired to the engine yet in this build")]
pub struct NotWired(pub &'static str);

/// `lane-agent doctor`.
pub fn doctor(_args: &DoctorArgs) -> anyhow::Result<()> {
    Err(NotWired("doctor").into())
}
