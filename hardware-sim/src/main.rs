//! `hardware-sim`: simulators for technicians and tests.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hardware-sim",
    version,
    about = "Simulated ZVT terminal, card reader and POS cloud"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POS cloud stand-in: OIDC discovery, token endpoint and the GraphQL API.
    Pos(hardware_sim::pos::PosArgs),
    /// A ZVT payment terminal over TCP or a pseudo-terminal.
    Terminal(hardware_sim::terminal::TerminalArgs),
    /// A serial card reader or barcode scanner on a pseudo-terminal.
    Reader(hardware_sim::reader::ReaderArgs),
    /// Sits between a cash register and a ZVT terminal (TCP): forwards, shows, records.
    Tap(hardware_sim::tap::TapArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Pos(args) => hardware_sim::pos::run(args).await?,
        Command::Terminal(args) => hardware_sim::terminal::run(args).await?,
        Command::Reader(args) => hardware_sim::reader::run(args).await?,
        Command::Tap(args) => hardware_sim::tap::run(args).await?,
    }
    Ok(())
}
