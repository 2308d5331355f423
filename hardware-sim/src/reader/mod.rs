//! Simulated reader (placeholder until its issue lands).

/// Command-line arguments of `hardware-sim reader`.
#[derive(Debug, clap::Args)]
pub struct ReaderArgs {}

/// Runs `hardware-sim reader` until it is stopped.
pub async fn run(_args: ReaderArgs) -> Result<(), std::io::Error> {
    Ok(())
}
