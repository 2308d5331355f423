//! `lane-agent terminal end-of-day`: the terminal's end of day through the running agent's
//! API, or (agent stopped) directly on its store and terminal. `lane-agent terminal trace`:
//! the running agent's conversation with its terminal, live and in words.

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
    /// Follow the running agent's terminal link, one decoded message per line (no card
    /// data, no PIN, no password), until Ctrl-C.
    Trace,
}

/// Runs `lane-agent terminal …`; a failed end of day exits 1.
pub fn run(args: &TerminalArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config.config)?;
    if matches!(args.command, TerminalCommand::Trace) {
        return runtime()?.block_on(trace(&loaded, args.json));
    }
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

/// Prints the agent's `GET /v1/terminal/trace` stream line by line (`--json`: the events'
/// data) until the agent stops or the technician presses Ctrl-C.
async fn trace(loaded: &crate::config::LoadedConfig, json: bool) -> anyhow::Result<()> {
    let Target::Api { base, token, .. } = target(loaded).await? else {
        return Err(crate::service::ServiceError::unavailable(
            "following the terminal trace",
            "the agent is not running: the trace shows a running agent's terminal link",
        )
        .into());
    };
    // No overall timeout: the stream lasts as long as the technician watches.
    let http = reqwest::Client::builder().build()?;
    let mut resp = http
        .get(format!("{base}/v1/terminal/trace"))
        .bearer_auth(token)
        .send()
        .await
        .context("asking the agent's API: GET /v1/terminal/trace")?;
    if !resp.status().is_success() {
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::bail!(
            "the agent refused the trace ({status}, {}): {}",
            s(&v["error"]["code"]),
            s(&v["error"]["message"])
        );
    }
    let mut out = std::io::stdout();
    // The agent subscribed before it answered: from here on nothing is missed.
    if !json {
        writeln!(
            out,
            "Following the terminal link of {base} (Ctrl-C to stop)."
        )?;
        out.flush()?;
    }
    let mut buf = String::new();
    while let Some(chunk) = resp.chunk().await.context("reading the trace")? {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            if json {
                writeln!(out, "{data}")?;
            } else if let Ok(v) = serde_json::from_str::<Value>(data) {
                match v["line"].as_str() {
                    Some(line) => writeln!(out, "{line}")?,
                    None => writeln!(out, "({} messages skipped)", s(&v["missed"]))?,
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}
