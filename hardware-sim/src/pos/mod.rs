//! Simulated pos (placeholder until its issue lands).

/// Command-line arguments of `hardware-sim pos`.
#[derive(Debug, clap::Args)]
pub struct PosArgs {}

/// Runs `hardware-sim pos` until it is stopped.
pub async fn run(_args: PosArgs) -> Result<(), std::io::Error> {
    Ok(())
}
