//! `lane-agent demo`: the whole lane in one process, on loopback and pseudo-terminals.
//!
//! ```text
//!  PosSim (127.0.0.1:0, Seed::example)      SimTerminal (ZVT over TCP, 127.0.0.1:0)
//!        ▲ GraphQL + OIDC                         ▲ ZVT
//!        │                                        │
//!  ┌─────┴────────────── the real agent (service::wire, store in a temp dir) ─┐
//!  │ engine · forwarder · link probe · devices (SimReader on a pty) · API    │
//!  └──────────────────────────────────────────────────────┬─────────────────┘
//!                                                         │ HTTP + bearer token
//!                                             the scripted day ([`day`])
//! ```
//!
//! The agent is assembled exactly as `lane-agent run` assembles it, from a config file the
//! demo writes; the day talks to it only through its HTTP API, like a register. Every wait
//! is bounded, so the demo ends (or fails with a reason) instead of hanging.

mod day;
pub mod us_lane;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use hardware_sim::pos::{PosSim, Seed};
use hardware_sim::reader::{SimReader, SimReaderConfig};
use hardware_sim::terminal::{DefaultInput, SimTerminal, SimTerminalConfig};
use pos_client::backoff::Backoff;

use crate::service::wiring::{WireOptions, wire_with};

pub use day::{DayReport, Step};

/// The API token the demo agent uses (printed with `--keep-running`; a demo secret only).
pub const DEMO_TOKEN: &str = "demo-token-0123456789abcdef";

/// The PIN the simulated customer types on the terminal (the seed's card 1002 has it).
const CUSTOMER_PIN: &str = "4321";

/// The lane while the demo runs: simulators, the agent and where to reach it.
pub struct DemoLane {
    /// The POS stand-in.
    pub pos: PosSim,
    /// The simulated terminal.
    pub terminal: SimTerminal,
    /// The simulated reader (its pty is the agent's `msr` device).
    pub reader: SimReader,
    /// `http://127.0.0.1:PORT` of the agent's API.
    pub api_url: String,
    /// The agent's data (store, config, secrets); removed when dropped.
    pub dir: tempfile::TempDir,
    shutdown: tokio_util::sync::CancellationToken,
    agent: tokio::task::JoinHandle<Result<(), crate::service::ServiceError>>,
}

impl std::fmt::Debug for DemoLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoLane")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

fn private(dir: &Path, name: &str, contents: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    fs::write(&path, contents)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

fn config_text(dir: &Path, pos: &PosSim, terminal: &str, reader: &Path) -> anyhow::Result<String> {
    let secret = private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    )?;
    let token = private(dir, "api-token", &format!("{DEMO_TOKEN}\n"))?;
    let store = dir.join("agent.db");
    Ok(format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"
currency = "USD"

[pos]
graphql_url = "{graphql}"
issuer_url = "{issuer}"
client_id = "lane-agent"
client_secret_file = "{secret}"
request_timeout_ms = 3000

[api]
listen = "127.0.0.1:0"
token_file = "{token}"

[store]
path = "{store}"

[terminal]
protocol = "zvt"
transport = "tcp"
address = "{terminal}"
password = "000000"
t3_ms = 2000
t4_ms = 20000

[[reader]]
name = "msr"
kind = "serial-msr"
device = "{reader}"

[offline]
enabled = true
max_transaction_amount = "25.00"
max_total_amount = "40.00"
max_count = 5
max_age_hours = 24
unknown_card = "refuse"

[giftcard]
prefixes = ["600649"]
"#,
        graphql = pos.graphql_url(),
        issuer = pos.issuer_url(),
        secret = secret.display(),
        token = token.display(),
        store = store.display(),
        reader = reader.display(),
    ))
}

impl DemoLane {
    /// Starts the simulators and the agent; returns once the agent's API serves.
    ///
    /// # Errors
    /// When a simulator or the agent cannot start.
    pub async fn start() -> anyhow::Result<DemoLane> {
        let dir = tempfile::Builder::new()
            .prefix("lane-agent-demo-")
            .tempdir()?;
        let pos = PosSim::start("127.0.0.1:0".parse()?, Seed::example())
            .await
            .context("starting the POS stand-in")?;
        let terminal = SimTerminal::start_tcp(
            "127.0.0.1:0".parse()?,
            SimTerminalConfig {
                default_input: DefaultInput::Digits(CUSTOMER_PIN.into()),
                ..SimTerminalConfig::default()
            },
        )
        .await
        .context("starting the simulated terminal")?;
        let terminal_addr = terminal.addr().context("terminal address")?;
        let reader = SimReader::start(dir.path().join("msr"), SimReaderConfig::default())
            .await
            .context("starting the simulated reader")?;

        let config = dir.path().join("lane-agent.toml");
        fs::write(
            &config,
            config_text(dir.path(), &pos, &terminal_addr.to_string(), reader.link())?,
        )?;
        let loaded = crate::config::load_file(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        // Fast retries, so the outage heals within a second of the link coming back.
        let fast = Backoff::try_new(
            Duration::from_millis(50),
            Duration::from_millis(250),
            u32::MAX,
        )?
        .without_jitter();
        let service = wire_with(
            loaded,
            WireOptions {
                backoff: Some(fast),
            },
        )
        .await?;
        let running = service.start().await?;
        let api_url = format!("http://{}", running.local_addr());
        let shutdown = running.shutdown_token();
        let agent = tokio::spawn(running.wait());
        Ok(DemoLane {
            pos,
            terminal,
            reader,
            api_url,
            dir,
            shutdown,
            agent,
        })
    }

    /// Stops the agent gracefully (API, engine, forwarder, devices) and then the simulators.
    ///
    /// # Errors
    /// When the agent's stop failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let res = tokio::time::timeout(Duration::from_secs(20), self.agent)
            .await
            .context("the agent did not stop in time")??;
        self.pos.shutdown().await;
        res.map_err(Into::into)
    }

    /// Waits until the agent stops (Ctrl-C or SIGTERM with `--keep-running`).
    ///
    /// # Errors
    /// When the agent's stop failed.
    pub async fn wait(self) -> anyhow::Result<()> {
        let res = self.agent.await?;
        self.pos.shutdown().await;
        res.map_err(Into::into)
    }
}

/// Runs the demo: starts the lane, plays the day, prints the summary to `out`; with
/// `keep_running`, prints how to reach the API and serves until Ctrl-C.
///
/// # Errors
/// When the lane cannot start or a step of the day fails outright (an unexpected HTTP
/// status, a timeout).
pub async fn run(keep_running: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<DayReport> {
    let mut lane = DemoLane::start().await?;
    writeln!(
        out,
        "lane-agent demo: a scripted day on a simulated lane\n  POS stand-in  {}\n  terminal      ZVT over TCP {}\n  reader        serial MSR on {}\n  agent API     {}\n",
        lane.pos.graphql_url(),
        lane.terminal
            .addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        lane.reader.link().display(),
        lane.api_url,
    )?;
    let report = day::play(&mut lane, out).await;
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            let _ = lane.stop().await;
            return Err(e);
        }
    };
    if keep_running {
        let url = &lane.api_url;
        writeln!(
            out,
            "\nThe lane keeps running. API: {url}  token: {DEMO_TOKEN}\nTry:\n  curl {url}/v1/health\n  curl -H 'Authorization: Bearer {DEMO_TOKEN}' {url}/v1/status\n  curl -H 'Authorization: Bearer {DEMO_TOKEN}' -H 'Content-Type: application/json' \\\n       -d '{{\"sale_id\":\"try-1\",\"lines\":[{{\"sku\":\"ITEM-001\",\"quantity\":\"1\",\"unit_price\":\"9.99\"}}]}}' {url}/v1/sales\n  curl -H 'Authorization: Bearer {DEMO_TOKEN}' -H 'Content-Type: application/json' \\\n       -d '{{\"method\":\"giftcard\",\"amount\":\"9.99\",\"code\":\"6006491000000002\"}}' {url}/v1/sales/try-1/payments\n  (the card needs a PIN: the simulated customer types 4321 on the terminal)\n  curl -X POST -H 'Authorization: Bearer {DEMO_TOKEN}' {url}/v1/sales/try-1/complete\n  curl -H 'Authorization: Bearer {DEMO_TOKEN}' {url}/v1/outbox\n  curl -H 'Authorization: Bearer {DEMO_TOKEN}' {url}/metrics\n  curl -N -H 'Authorization: Bearer {DEMO_TOKEN}' {url}/v1/events\nThe README's \"Trying the API by hand\" has the whole tour. Press Ctrl-C to stop."
        )?;
        out.flush()?;
        lane.wait().await?;
    } else {
        lane.stop().await?;
    }
    Ok(report)
}
