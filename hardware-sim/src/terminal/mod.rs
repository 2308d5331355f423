//! Simulated terminal (placeholder until its issue lands).

/// Command-line arguments of `hardware-sim terminal`.
#[derive(Debug, clap::Args)]
pub struct TerminalArgs {}

/// Runs `hardware-sim terminal` until it is stopped.
pub async fn run(_args: TerminalArgs) -> Result<(), std::io::Error> {
    Ok(())
}
