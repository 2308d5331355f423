//! The `lane-agent` command line (interfaces.md §1): the service and its operator tools.
//!
//! Usage errors exit 64, like configuration errors; see [`exit`] for the mapping of
//! every other failure to the contract's exit codes.

mod check_config;
mod demo;
mod doctor;
mod exceptions;
pub mod exit;
mod history;
mod operator;
mod report;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::config::DEFAULT_CONFIG_PATH;

/// Checkout-lane edge agent: ZVT terminal, card readers, gift cards against the POS
/// cloud, offline store-and-forward.
#[derive(Debug, Parser)]
#[command(name = "lane-agent", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent as a service (systemd Type=notify).
    Run(RunArgs),
    /// Check a config file: exit 0 when valid, else print every problem and exit 64.
    CheckConfig(CheckConfigArgs),
    /// Run everything in-process against the simulators and play a scripted day.
    Demo(DemoArgs),
    /// Show link state, devices, outbox counts and the offline budget left.
    Status(StatusArgs),
    /// Inspect and resolve the outbox.
    Outbox(OutboxArgs),
    /// List and acknowledge exceptions (payments in doubt, post-forward declines).
    Exceptions(exceptions::ExceptionsArgs),
    /// Check everything a technician needs at install time.
    Doctor(DoctorArgs),
    /// List the POS's sales by date range and customer (needs ViewSales).
    History(HistoryArgs),
    /// Print the daily reconciliation report of this lane's journal.
    Report(ReportArgs),
    /// Payment-terminal administration (end of day).
    Terminal(terminal::TerminalArgs),
}

/// `lane-agent history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// First day, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = history::parse_date)]
    pub from: chrono::NaiveDate,
    /// Last day (inclusive), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = history::parse_date)]
    pub to: chrono::NaiveDate,
    /// Only this POS customer's sales.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lane-agent report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// The local day, YYYY-MM-DD (default today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = history::parse_date)]
    pub date: Option<chrono::NaiveDate>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--config FILE`, defaulting to `$LANE_AGENT_CONFIG` or the packaged path.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(long, short = 'c', value_name = "FILE", env = "LANE_AGENT_CONFIG", default_value = DEFAULT_CONFIG_PATH, global = true)]
    pub config: PathBuf,
}

/// `lane-agent run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
}

/// `lane-agent check-config`.
#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lane-agent demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Leave the API and simulators running after the scripted day.
    #[arg(long)]
    pub keep_running: bool,
    /// The lane's card terminal: `zvt` (the European lane, the default) or `pos` (a US
    /// lane: cards on a processor terminal driven through the POS).
    #[arg(long, value_parser = ["zvt", "pos"], default_value = "zvt")]
    pub terminal: String,
}

/// `lane-agent status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lane-agent outbox …`.
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// What to do with the outbox.
    #[command(subcommand)]
    pub command: OutboxCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The outbox subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OutboxCommand {
    /// List outbox items and their states.
    List,
    /// Show one item.
    Show {
        /// The item's id.
        id: String,
    },
    /// Deliver what can be delivered now, with a progress bar.
    Flush,
    /// Hold an item back from delivery.
    Hold {
        /// The item's id.
        id: String,
    },
    /// Resolve an in-doubt item: it was recorded by the POS, or must be resent.
    #[command(group(ArgGroup::new("resolution").required(true).args(["recorded", "resend"])))]
    Resolve {
        /// The item's id.
        id: String,
        /// The POS has it: mark it delivered.
        #[arg(long)]
        recorded: bool,
        /// The POS does not have it: send it again.
        #[arg(long)]
        resend: bool,
    },
}

/// `lane-agent doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses arguments and runs the chosen subcommand; the process's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let outcome = match cli.command {
        // check-config prints its own report and decides its own code.
        Command::CheckConfig(args) => return check_config::run(&args),
        Command::Doctor(args) => return doctor::run(&args),
        Command::Run(args) => run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Status(args) => operator::status(&args),
        Command::Outbox(args) => operator::outbox(&args),
        Command::Exceptions(args) => exceptions::run(&args),
        Command::Terminal(args) => terminal::run(&args),
        Command::History(args) => history::run(&args),
        Command::Report(args) => report::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit::report(&err),
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    crate::telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lane-agent")
        .build()?;
    let result = runtime.block_on(crate::service::run(&args.config.config));
    // Don't wait for blocking tasks (a serial open stuck in the kernel) past the drain.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(result?)
}
