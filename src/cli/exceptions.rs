//! `lane-agent exceptions list|ack`: what an operator must see and decide, through the
//! running agent's API (or, when it is stopped, on its store).

use std::io::Write;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::agent::backend::AgentBackend;
use crate::api::LaneBackend;
use crate::api::types::{AcknowledgeRequest, ExceptionResolution};

use super::ConfigArg;
use super::operator::{Target, load, runtime, s, target};

/// `lane-agent exceptions …`.
#[derive(Debug, Clone, Args)]
pub struct ExceptionsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ExceptionsCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The exceptions subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ExceptionsCommand {
    /// List the open exceptions.
    List,
    /// Acknowledge (close) an exception; a payment in doubt needs `--resolution`.
    Ack {
        /// The exception's id (from `exceptions list`).
        id: String,
        /// A note for the journal.
        #[arg(long)]
        note: Option<String>,
        /// For a payment in doubt: was the money taken?
        #[arg(long, value_enum)]
        resolution: Option<ResolutionArg>,
    },
}

/// `--resolution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolutionArg {
    /// The money was taken.
    Approved,
    /// No money was taken.
    NotApproved,
}

impl ResolutionArg {
    fn api(self) -> ExceptionResolution {
        match self {
            ResolutionArg::Approved => ExceptionResolution::Approved,
            ResolutionArg::NotApproved => ExceptionResolution::NotApproved,
        }
    }
}

/// Runs `lane-agent exceptions …`.
pub fn run(args: &ExceptionsArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config.config)?;
    runtime()?.block_on(async {
        let t = target(&loaded).await?;
        let v = match &args.command {
            ExceptionsCommand::List => list(&t).await?,
            ExceptionsCommand::Ack {
                id,
                note,
                resolution,
            } => ack(&t, id, note.clone(), *resolution).await?,
        };
        let mut out = std::io::stdout();
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        } else if let Some(items) = v["exceptions"].as_array() {
            if items.is_empty() {
                writeln!(out, "No open exceptions.")?;
            }
            for e in items {
                print_one(e, &mut out)?;
            }
        } else {
            print_one(&v, &mut out)?;
        }
        Ok(())
    })
}

async fn list(t: &Target) -> anyhow::Result<Value> {
    Ok(match t {
        Target::Api { .. } => t.get("/v1/exceptions").await?,
        Target::Store { engine } => serde_json::to_value(
            AgentBackend::new(engine.clone(), None, None)
                .exceptions_list()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )?,
    })
}

async fn ack(
    t: &Target,
    id: &str,
    note: Option<String>,
    resolution: Option<ResolutionArg>,
) -> anyhow::Result<Value> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{id:?} is not an exception id (a number from `exceptions list`)");
    }
    Ok(match t {
        Target::Api { .. } => {
            let mut body = json!({});
            if let Some(n) = &note {
                body["note"] = json!(n);
            }
            if let Some(r) = resolution {
                body["resolution"] = serde_json::to_value(r.api())?;
            }
            t.post(&format!("/v1/exceptions/{id}/acknowledge"), body)
                .await?
        }
        Target::Store { engine } => serde_json::to_value(
            AgentBackend::new(engine.clone(), None, None)
                .exception_acknowledge(
                    id.to_owned(),
                    AcknowledgeRequest {
                        note,
                        resolution: resolution.map(ResolutionArg::api),
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )?,
    })
}

fn print_one(e: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let mut line = format!("#{} {} — {}", s(&e["id"]), s(&e["kind"]), s(&e["reason"]));
    for (label, key) in [
        ("sale", "sale_id"),
        ("payment", "payment_id"),
        ("amount", "amount"),
        ("card", "code"),
        ("resolution", "resolution"),
    ] {
        if !e[key].is_null() {
            line.push_str(&format!("; {label} {}", s(&e[key])));
        }
    }
    writeln!(out, "{line}")
}
