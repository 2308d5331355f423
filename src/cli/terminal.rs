//! `lane-agent terminal end-of-day`: the terminal's end of day through the running agent's
//! API, or (agent stopped) directly on its store and terminal.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::agent::backend::AgentBackend;
use crate::store::end_of_day::Trigger;

use super::ConfigArg;
use super::operator::{Target, load, runtime, s, target};

/// An end of day may print a long receipt; wait for it longer than for other calls.
const END_OF_DAY_LIMIT: Duration = Duration::from_secs(240);

/// `lane-agent terminal …`.
#[derive(Debug, Clone, Args)]
pub struct TerminalArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TerminalCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArg,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The terminal subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TerminalCommand {
    /// Run the terminal's end of day (ZVT 06 50) and journal its totals.
    EndOfDay,
}

/// Runs `lane-agent terminal …`; a failed end of day exits 1.
pub fn run(args: &TerminalArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config.config)?;
    runtime()?.block_on(async {
        let v = match target(&loaded).await? {
            Target::Api { base, .. } => {
                let token = loaded.secrets.api_token.expose_secret().trim().to_owned();
                let http = reqwest::Client::builder()
                    .timeout(END_OF_DAY_LIMIT)
                    .build()?;
                let r = http
                    .post(format!("{base}/v1/terminal/end-of-day"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .context("asking the agent's API: POST /v1/terminal/end-of-day")?;
                let status = r.status();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if !status.is_success() {
                    anyhow::bail!(
                        "the agent refused the end of day ({status}, {}): {}",
                        s(&v["error"]["code"]),
                        s(&v["error"]["message"])
                    );
                }
                v
            }
            Target::Store { engine } => serde_json::to_value(
                AgentBackend::new(engine.clone(), None, None)
                    .end_of_day_as(Trigger::Cli)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )?,
        };
        let mut out = std::io::stdout();
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        } else {
            let t = &v["totals"];
            writeln!(out, "End of day: {}", s(&v["status"]))?;
            writeln!(
                out,
                "Terminal totals: {} {} in {} transactions (receipts {}-{})",
                s(&t["currency"]),
                s(&t["total"]),
                s(&t["count"]),
                s(&t["receipt_from"]),
                s(&t["receipt_to"])
            )?;
            if let Some(r) = v["reason"].as_str() {
                writeln!(out, "Reason: {r}")?;
            }
        }
        if v["status"] != "ok" {
            anyhow::bail!("the terminal's end of day failed: {}", s(&v["reason"]));
        }
        Ok(())
    })
}
