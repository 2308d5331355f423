//! `hardware-sim reader`: a simulated serial card reader / barcode scanner on a pty.
//!
//! The simulator keeps the pty master and publishes the slave behind a symlink (`--pty
//! LINK`), which the agent opens like `/dev/lane/msr`. It swipes or scans what a script or a
//! technician at the console says ([`script`] lists the commands), including bank cards (the
//! test PAN only), garbage, half reads and floods, and it can unplug and replug.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hardware_sim::reader::{SimReader, SimReaderConfig};
//! let mut reader = SimReader::start("/tmp/lane-msr", SimReaderConfig::default()).await?;
//! reader.swipe(";6036001234567890=4912?").await?;
//! reader.unplug().await?;
//! reader.replug().await?;
//! # Ok(()) }
//! ```

pub mod cards;
mod device;
pub mod script;

use std::io::IsTerminal;
use std::path::PathBuf;

use tokio::io::AsyncBufReadExt;

pub use device::{SimReader, SimReaderConfig};

/// Command-line arguments of `hardware-sim reader`.
#[derive(Debug, clap::Args)]
pub struct ReaderArgs {
    /// Symlink to publish the pty slave at (the agent's `reader.device`).
    #[arg(long, value_name = "LINK")]
    pub pty: PathBuf,
    /// Commands to play (see `script` module docs); afterwards the reader stays plugged in
    /// until Ctrl-C unless the script says `quit`.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Prefix sent before scanned codes.
    #[arg(long, default_value = "")]
    pub scan_prefix: String,
    /// Suffix sent after scanned codes.
    #[arg(long, default_value = "")]
    pub scan_suffix: String,
    /// Do not show what the reader does as it happens.
    #[arg(long, conflicts_with = "json")]
    pub quiet: bool,
    /// Show events as JSON lines instead of words.
    #[arg(long)]
    pub json: bool,
}

/// The live console: one line per event, in words or as JSON; nothing when quiet.
struct Live {
    quiet: bool,
    json: bool,
}

impl Live {
    fn say(&self, event: &str, text: &str) {
        use std::io::Write;
        if self.quiet {
            return;
        }
        let line = if self.json {
            serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "event": event,
                "text": text,
            })
            .to_string()
        } else {
            format!("{} {text}", chrono::Local::now().format("%H:%M:%S%.3f"))
        };
        // A closed stdout must not stop the reader.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn command(&self, command: &script::Command) {
        self.say("command", &script::describe(command));
    }
}

/// Errors of `hardware-sim reader`.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The pty, the link or the script file failed.
    #[error("reader simulator I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The script has bad lines.
    #[error("bad script:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Script(Vec<script::ScriptError>),
}

/// Runs `hardware-sim reader` until `quit`, Ctrl-C or the end of console input.
///
/// # Errors
/// [`ReaderError`] for pty, link, script or I/O failures.
pub async fn run(args: ReaderArgs) -> Result<(), ReaderError> {
    let commands = match &args.script {
        Some(path) => Some(
            script::parse_script(&tokio::fs::read_to_string(path).await?)
                .map_err(ReaderError::Script)?,
        ),
        None => None,
    };
    let config = SimReaderConfig {
        scan_prefix: args.scan_prefix,
        scan_suffix: args.scan_suffix,
        ..SimReaderConfig::default()
    };
    let live = Live {
        quiet: args.quiet,
        json: args.json,
    };
    let mut reader = SimReader::start(&args.pty, config).await?;
    tracing::info!(link = %args.pty.display(), slave = ?reader.slave_path(), "Reader simulator plugged in.");
    live.say(
        "plugged_in",
        &format!("reader plugged in at {}", args.pty.display()),
    );
    let mut seed = 0x5EED_u64;
    if let Some(commands) = commands {
        for command in &commands {
            live.command(command);
            if !script::execute(&mut reader, command, &mut seed).await? {
                return Ok(());
            }
        }
    } else if std::io::stdin().is_terminal() {
        eprintln!(
            "reader console: swipe|gift|bank|scan|member|half|garbage|flood|raw|unplug|replug|wait|quit"
        );
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut number = 0;
        while let Some(line) = lines.next_line().await? {
            number += 1;
            match script::parse_line(&line, number) {
                Ok(Some(command)) => {
                    live.command(&command);
                    match script::execute(&mut reader, &command, &mut seed).await {
                        Ok(true) => {}
                        Ok(false) => return Ok(()),
                        Err(error) => eprintln!("{error}"),
                    }
                }
                Ok(None) => {}
                Err(error) => eprintln!("{error}"),
            }
        }
        return Ok(());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
