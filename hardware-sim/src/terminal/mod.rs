//! Simulated ZVT payment terminal (the PT side of PA00P015/PA00P016).
//!
//! It reuses the driver's codec (`zvt::apdu`, `zvt::frame`, `zvt::command`) with the roles
//! swapped and behaves like a real terminal: registration with a password check, payments
//! approved or declined by rules, scripted steps or the technician, intermediate status,
//! status information with receipt and trace numbers, print lines when the ECR prints,
//! reservations and their booking or reversal, reversal by receipt, end of day, status
//! enquiry, repeat receipt, display text, numeric input and read card. Faults (NAK storms,
//! bad CRCs, byte gaps, stray bytes, silence, link drops, reboots) are injected from the
//! script, the console or [`SimControl`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hardware_sim::terminal::{SimTerminal, SimTerminalConfig};
//! let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default()).await?;
//! println!("terminal listening on {}", sim.addr().unwrap());
//! assert!(sim.control().journal().is_empty());
//! # Ok(()) }
//! ```

mod console;
mod control;
pub(crate) mod endpoint;
mod fault;
mod link;
mod replay;
mod script;
mod session;
mod state;

use std::{
    io::IsTerminal,
    net::SocketAddr,
    path::{Path, PathBuf},
};

pub use console::{ConsoleCommand, HELP as CONSOLE_HELP, event_json, event_words};
pub use control::{SimControl, SimEvent};
pub use fault::Fault;
pub use replay::Replay;
pub use script::{
    DefaultInput, Outcome, Rules, ScriptError, SimTerminalConfig, Step, StepOn, TestCard,
};
pub use state::{JournalEntry, TxKind};

use state::SimState;

/// Command-line arguments of `hardware-sim terminal`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["tcp", "pty"])))]
pub struct TerminalArgs {
    /// Listen for the ECR on this TCP address (ZVT over TCP), e.g. 127.0.0.1:20007.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<SocketAddr>,
    /// Create a pseudo-terminal and publish its path as the symlink LINK (ZVT over serial).
    #[arg(long, value_name = "LINK")]
    pub pty: Option<PathBuf>,
    /// Scenario script (TOML): terminal settings, rules, cards, steps and faults.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Answer to numeric-input prompts nobody answers: "cancel" or digits.
    #[arg(long, value_name = "cancel|DIGITS")]
    pub default_input: Option<DefaultInput>,
    /// Do not show events as they happen (connections, messages, NAKs, faults).
    #[arg(long, conflicts_with = "json")]
    pub quiet: bool,
    /// Show events as JSON lines instead of words.
    #[arg(long)]
    pub json: bool,
    /// Play the terminal side of a capture recorded by `hardware-sim tap` (TCP only).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["script", "pty", "json"])]
    pub replay: Option<PathBuf>,
}

/// Errors starting or running the simulated terminal.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// The script is unreadable or invalid.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The capture to replay is unreadable.
    #[error("cannot replay: {0}")]
    Replay(String),
    /// Neither `--tcp` nor `--pty` was given.
    #[error("give --tcp ADDR or --pty LINK")]
    NoEndpoint,
    /// Binding the socket or creating the pty failed.
    #[error("cannot open the terminal endpoint: {0}")]
    Io(#[from] std::io::Error),
}

/// A running simulated terminal. Dropping it stops it (and removes the pty link).
#[derive(Debug)]
pub struct SimTerminal {
    control: SimControl,
    addr: Option<SocketAddr>,
    link: Option<PathBuf>,
    task: tokio::task::JoinHandle<()>,
}

impl SimTerminal {
    /// Starts a terminal listening on `addr` (port 0 picks a free port; see [`Self::addr`]).
    pub async fn start_tcp(addr: SocketAddr, config: SimTerminalConfig) -> std::io::Result<Self> {
        Self::start_tcp_with(addr, config, false).await
    }

    async fn start_tcp_with(
        addr: SocketAddr,
        config: SimTerminalConfig,
        interactive: bool,
    ) -> std::io::Result<Self> {
        let listener = endpoint::bind_tcp(addr).await?;
        let addr = listener.local_addr()?;
        let control = SimControl::new(SimState::new(config), interactive);
        let task = tokio::spawn(endpoint::serve_tcp(listener, control.clone()));
        tracing::info!(%addr, "Simulated terminal listening.");
        Ok(Self {
            control,
            addr: Some(addr),
            link: None,
            task,
        })
    }

    /// Starts a terminal on a new pseudo-terminal whose slave path is published as the
    /// symlink `link` (replaced if it exists).
    pub async fn start_pty(link: &Path, config: SimTerminalConfig) -> std::io::Result<Self> {
        Self::start_pty_with(link, config, false).await
    }

    async fn start_pty_with(
        link: &Path,
        config: SimTerminalConfig,
        interactive: bool,
    ) -> std::io::Result<Self> {
        let pty = endpoint::open_pty(link)?;
        let control = SimControl::new(SimState::new(config), interactive);
        let task = tokio::spawn(endpoint::serve_pty(pty, link.to_owned(), control.clone()));
        Ok(Self {
            control,
            addr: None,
            link: Some(link.to_owned()),
            task,
        })
    }

    /// The TCP address, for a TCP terminal.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The pty symlink, for a serial terminal.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// The control handle (next outcome, faults, journal, events).
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Stops the terminal and removes the pty link.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for SimTerminal {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Runs `hardware-sim terminal` until Ctrl-C or SIGTERM.
pub async fn run(args: TerminalArgs) -> Result<(), TerminalError> {
    if let Some(file) = &args.replay {
        let records = crate::tap::read_capture(file).map_err(TerminalError::Replay)?;
        let addr = args.tcp.ok_or(TerminalError::NoEndpoint)?;
        let replay = Replay::start(addr, records, args.quiet).await?;
        println!(
            "ZVT terminal listening on {} (replaying {})",
            replay.addr(),
            file.display()
        );
        return wait_for_stop().await;
    }
    let mut config = match &args.script {
        Some(path) => SimTerminalConfig::from_file(path)?,
        None => SimTerminalConfig::default(),
    };
    if let Some(d) = args.default_input {
        config.default_input = d;
    }
    let interactive = std::io::stdin().is_terminal();
    if !interactive && args.script.is_none() {
        tracing::info!("Unattended: approving every payment, default input for prompts.");
    }
    let sim = match (args.tcp, &args.pty) {
        (Some(addr), _) => SimTerminal::start_tcp_with(addr, config, interactive).await?,
        (None, Some(link)) => SimTerminal::start_pty_with(link, config, interactive).await?,
        (None, None) => return Err(TerminalError::NoEndpoint),
    };
    // Subscribed before the address is shown, so the first connection is not missed.
    let events = sim.control().subscribe();
    if let Some(addr) = sim.addr() {
        println!("ZVT terminal listening on {addr}");
    }
    if let Some(link) = sim.link() {
        println!("ZVT terminal on pty {}", link.display());
    }
    if !args.quiet {
        tokio::spawn(console::print_events(sim.control(), events, args.json));
    }
    if interactive {
        tokio::spawn(console::run(sim.control()));
    }
    // systemd and test harnesses stop with SIGTERM; both signals remove the pty link.
    wait_for_stop().await?;
    sim.stop();
    Ok(())
}

async fn wait_for_stop() -> Result<(), TerminalError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
