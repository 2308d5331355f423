//! `status` and `outbox …`: the operator's view of a lane.
//!
//! When the agent runs, these talk to its local API (token from `api.token_file`), because
//! the store has one writer: `show`, `hold`, `resolve` and `flush` use the operator routes
//! under `/v1/outbox`. When nothing listens on `api.listen`, they open the store directly
//! through the engine, but only after taking the store's lock file (`<db>.lock`), which the
//! running service holds: an agent whose API does not answer (restarting, paused) makes them
//! refuse instead of becoming a second writer.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{OutboxArgs, OutboxCommand, StatusArgs};
use crate::agent::{AgentBackend, ZvtTerminal, transport_config};
use crate::api::LaneBackend;
use crate::config::LoadedConfig;
use crate::engine::adapters::{PosPorts, backoff_factory};
use crate::engine::forwarder::Step;
use crate::engine::{Engine, EngineConfig, Ports, Resolution, simple_backoff};
use crate::service::wiring::{offline_policy, pos_config};
use crate::store::{Store, StoreOptions};

/// How long `flush` follows a running agent's forwarder, or drains itself.
const FLUSH_LIMIT: Duration = Duration::from_secs(120);

pub(super) enum Target {
    Api {
        base: String,
        token: String,
        http: reqwest::Client,
    },
    Store {
        engine: Engine,
    },
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn agent_listens(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

pub(super) async fn target(loaded: &LoadedConfig) -> anyhow::Result<Target> {
    let config = &loaded.config;
    if config.api.listen.port() == 0 {
        bail!(
            "api.listen has port 0, so a running agent cannot be found; refusing to open its store"
        );
    }
    if agent_listens(config.api.listen).await {
        return Ok(Target::Api {
            base: format!("http://{}", config.api.listen),
            token: loaded.secrets.api_token.expose_secret().trim().to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        });
    }
    if !config.store.path.exists() {
        bail!(
            "the agent is not running and its store {} does not exist",
            config.store.path.display()
        );
    }
    // The service holds the store's lock while it runs: if its API did not answer (a
    // restart, a paused process), refuse rather than become a second writer.
    let store = match Store::open(StoreOptions::new(config.store.path.clone())).await {
        Ok(store) => store,
        Err(crate::store::StoreError::Locked(lock)) => bail!(
            "the agent holds the store ({}) but its API at {} did not answer; \
             refusing to open the live database, try again when the agent is up",
            lock.display(),
            config.api.listen
        ),
        Err(e) => return Err(crate::service::ServiceError::storage("opening the store", e).into()),
    };
    let client = pos_client::PosClient::new(pos_config(loaded))
        .map_err(|e| crate::service::ServiceError::unavailable("building the POS client", e))?;
    let pos = PosPorts::new(client, Some(pos_client::CodeType::Physical));
    let pos_host = pos.clone();
    // Built but never used by these commands; it connects only on first use.
    let terminal = ZvtTerminal::new(transport_config(&config.terminal), None)?;
    let quick = simple_backoff(Duration::from_millis(200), Duration::from_secs(2));
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(pos.clone()),
            purchases: Arc::new(pos),
            terminal: Arc::new(terminal),
        },
        EngineConfig {
            store_code: config.lane.store_code.clone(),
            register_code: config.lane.register_code.clone(),
            offline: offline_policy(config),
            forward_backoff: quick.clone(),
            probe_backoff: backoff_factory(pos_client::backoff::Backoff::try_new(
                Duration::from_millis(200),
                Duration::from_secs(2),
                u32::MAX,
            )?),
            fault: None,
        },
    );
    // `outbox flush` may meet a terminal capture/void item on a pos lane.
    if let Some(terminal_id) = config.terminal.transport.pos_terminal_id() {
        engine.set_pos_terminal(crate::engine::pos_terminal::PosTerminalLane {
            host: Arc::new(pos_host),
            terminal_id: terminal_id.to_owned(),
        });
    }
    Ok(Target::Store { engine })
}

impl Target {
    pub(super) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let Target::Api { base, token, http } = self else {
            unreachable!("only called for the API target")
        };
        let mut req = http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("asking the agent's API: {method} {path}"))?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let e = &v["error"];
            if e["code"].is_string() {
                bail!(
                    "the agent refused {method} {path} ({status}, {}): {}",
                    s(&e["code"]),
                    s(&e["message"])
                );
            }
            bail!("the agent's API answered {status} for {method} {path}: {v}");
        }
        Ok(v)
    }

    async fn status(&self) -> anyhow::Result<Value> {
        match self {
            Target::Api { base, .. } => {
                let mut v = self.get("/v1/status").await?;
                v["agent"] = json!({"running": true, "api": base});
                Ok(v)
            }
            Target::Store { engine } => {
                let backend = AgentBackend::new(engine.clone(), None, None);
                let s = backend.status().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut v = serde_json::to_value(s)?;
                // Link state is only known to a running agent.
                v["link"] = Value::Null;
                v["offline_since"] = Value::Null;
                v["agent"] = json!({"running": false});
                Ok(v)
            }
        }
    }

    async fn outbox(&self) -> anyhow::Result<Vec<Value>> {
        let v = match self {
            Target::Api { .. } => self.get("/v1/outbox").await?,
            Target::Store { engine } => {
                let backend = AgentBackend::new(engine.clone(), None, None);
                let l = backend
                    .outbox_list()
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                serde_json::to_value(l)?
            }
        };
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }
}

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn print_status(v: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let agent = if v["agent"]["running"] == true {
        format!("running ({})", s(&v["agent"]["api"]))
    } else {
        "not running (read from the store)".into()
    };
    writeln!(out, "agent:       {agent}")?;
    let link = match &v["link"] {
        Value::Null => "unknown while the agent is stopped".into(),
        l if v["offline_since"].is_string() => format!("{} since {}", s(l), s(&v["offline_since"])),
        l => s(l),
    };
    writeln!(out, "link:        {link}")?;
    let o = &v["outbox"];
    writeln!(
        out,
        "outbox:      pending {}, in doubt {}, failed {}, held {}",
        s(&o["pending"]),
        s(&o["in_doubt"]),
        s(&o["failed"]),
        s(&o["held"])
    )?;
    let devices: Vec<String> = v["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{} ({}) {}", s(&d["name"]), s(&d["kind"]), s(&d["state"])))
        .collect();
    writeln!(
        out,
        "devices:     {}",
        if devices.is_empty() {
            "-".into()
        } else {
            devices.join("; ")
        }
    )?;
    let b = &v["offline_budget"];
    if b["enabled"] == true {
        writeln!(
            out,
            "offline:     {} left in {} tenders (max {} per tender; used {} in {})",
            s(&b["remaining_amount"]),
            s(&b["remaining_count"]),
            s(&b["max_transaction_amount"]),
            s(&b["used_amount"]),
            s(&b["used_count"])
        )?;
    } else {
        writeln!(out, "offline:     disabled")?;
    }
    writeln!(out, "exceptions:  {} open", s(&v["open_exceptions"]))
}

fn print_items(items: &[Value], out: &mut dyn Write) -> std::io::Result<()> {
    if items.is_empty() {
        return writeln!(out, "The outbox is empty.");
    }
    writeln!(
        out,
        "{:>6}  {:<17} {:<10} {:<20} {:>8}  {:<25} LAST ERROR",
        "ID", "KIND", "STATE", "SALE", "ATTEMPTS", "CREATED"
    )?;
    for i in items {
        writeln!(
            out,
            "{:>6}  {:<17} {:<10} {:<20} {:>8}  {:<25} {}",
            s(&i["id"]),
            s(&i["kind"]),
            s(&i["state"]),
            s(&i["sale_id"]),
            s(&i["attempts"]),
            s(&i["created_at"]),
            s(&i["last_error"])
        )?;
    }
    Ok(())
}

fn print_item(i: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    for key in [
        "id",
        "kind",
        "state",
        "sale_id",
        "attempts",
        "created_at",
        "last_error",
    ] {
        writeln!(out, "{:<11} {}", format!("{key}:"), s(&i[key]))?;
    }
    Ok(())
}

fn parse_id(id: &str) -> anyhow::Result<i64> {
    id.parse::<i64>().map_err(|_| {
        anyhow::anyhow!("{id:?} is not an outbox item id (a number from `outbox list`)")
    })
}

pub(super) fn load(path: &std::path::Path) -> anyhow::Result<LoadedConfig> {
    Ok(crate::config::load_file(path)?)
}

/// `lane-agent status [--json]`.
pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config.config)?;
    let v = runtime()?.block_on(async { target(&loaded).await?.status().await })?;
    let mut out = std::io::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        print_status(&v, &mut out)?;
    }
    Ok(())
}

/// `lane-agent outbox list|show|flush|hold|resolve [--json]`.
pub fn outbox(args: &OutboxArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config.config)?;
    runtime()?.block_on(outbox_async(args, &loaded))
}

fn item_json(i: &crate::store::outbox::OutboxItem) -> Value {
    json!({
        "id": i.id.to_string(),
        "kind": i.kind.to_string(),
        "state": i.state.to_string(),
        "sale_id": i.sale_id,
        "attempts": i.attempt,
        "created_at": i.created_at,
        "last_error": i.last_error,
    })
}

async fn outbox_async(args: &OutboxArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
    let t = target(loaded).await?;
    let mut out = std::io::stdout();
    let emit = |v: &Value, out: &mut std::io::Stdout| -> anyhow::Result<()> {
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(v)?)?;
        } else {
            print_item(v, out)?;
        }
        Ok(())
    };
    match &args.command {
        OutboxCommand::List => {
            let items = t.outbox().await?;
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&json!({"items": items}))?
                )?;
            } else {
                print_items(&items, &mut out)?;
            }
        }
        OutboxCommand::Show { id } => {
            let n = parse_id(id)?;
            let item = match &t {
                Target::Store { engine } => item_json(&engine.forwarder().show(n).await?),
                Target::Api { .. } => t.get(&format!("/v1/outbox/{n}")).await?,
            };
            emit(&item, &mut out)?;
        }
        OutboxCommand::Hold { id } => {
            let n = parse_id(id)?;
            let item = match &t {
                Target::Store { engine } => item_json(&engine.forwarder().hold(n).await?),
                Target::Api { .. } => t.post(&format!("/v1/outbox/{n}/hold"), json!({})).await?,
            };
            emit(&item, &mut out)?;
        }
        OutboxCommand::Resolve {
            id,
            recorded,
            resend,
        } => {
            let n = parse_id(id)?;
            let how = match (recorded, resend) {
                (true, false) => Resolution::Recorded,
                (false, true) => Resolution::Resend,
                _ => bail!("give exactly one of --recorded and --resend"),
            };
            let item = match &t {
                Target::Store { engine } => item_json(&engine.forwarder().resolve(n, how).await?),
                Target::Api { .. } => {
                    t.post(
                        &format!("/v1/outbox/{n}/resolve"),
                        json!({ "resolution": how }),
                    )
                    .await?
                }
            };
            emit(&item, &mut out)?;
        }
        OutboxCommand::Flush => flush(&t, args.json, &mut out).await?,
    }
    Ok(())
}

fn pending_of(status: &Value) -> u64 {
    status["outbox"]["pending"].as_u64().unwrap_or(0)
}

async fn flush(t: &Target, json_out: bool, out: &mut std::io::Stdout) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + FLUSH_LIMIT;
    let progress = |out: &mut std::io::Stdout, sent: u64, left: u64| -> std::io::Result<()> {
        if !json_out {
            let total = sent + left;
            let width = 30usize;
            let done = if total == 0 {
                width
            } else {
                (sent as usize * width) / total as usize
            };
            write!(
                out,
                "\rflushing [{}{}] {sent}/{total} delivered, {left} left",
                "#".repeat(done),
                ".".repeat(width - done)
            )?;
            out.flush()?;
        }
        Ok(())
    };
    let (sent, left, note) = match t {
        Target::Store { engine } => {
            let released = engine.forwarder().flush().await?;
            let start = pending_of(&t.status().await?);
            let mut sent = 0u64;
            let mut note = None;
            progress(out, 0, start)?;
            loop {
                if tokio::time::Instant::now() >= deadline {
                    note = Some("stopped at the time limit".to_owned());
                    break;
                }
                match engine.forwarder().forward_once().await? {
                    Step::Idle => break,
                    Step::Done(_, _) => sent += 1,
                    Step::Retry(id, _) => {
                        note = Some(format!(
                            "item {id} could not be sent (POS unreachable?); it stays queued"
                        ));
                        break;
                    }
                }
                progress(out, sent, start.saturating_sub(sent))?;
            }
            let left = pending_of(&t.status().await?);
            let note = note.or((released > 0).then(|| format!("{released} held items released")));
            (sent, left, note)
        }
        Target::Api { .. } => {
            // The agent releases held items and wakes its forwarder; then follow it until
            // nothing is pending, or stop early while the POS link is down (the forwarder
            // sends once it is back, with or without us watching).
            let released = t.post("/v1/outbox/flush", json!({})).await?["released"]
                .as_u64()
                .unwrap_or(0);
            let start = pending_of(&t.status().await?);
            let mut ticks = tokio::time::interval(Duration::from_millis(250));
            let mut left = start;
            let mut note = None;
            loop {
                progress(out, start.saturating_sub(left), left)?;
                if left == 0 {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    note = Some(
                        "stopped following at the time limit; the agent keeps sending".to_owned(),
                    );
                    break;
                }
                ticks.tick().await;
                let st = t.status().await?;
                left = pending_of(&st);
                if left > 0 && st["link"] == "offline" {
                    note = Some(
                        "the POS link is down; the agent sends the rest when it is back".to_owned(),
                    );
                    break;
                }
            }
            let released = (released > 0).then(|| format!("{released} held items released"));
            let note = match (released, note) {
                (Some(r), Some(n)) => Some(format!("{r}; {n}")),
                (r, n) => r.or(n),
            };
            (start.saturating_sub(left), left, note)
        }
    };
    if json_out {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &json!({"delivered": sent, "pending": left, "note": note})
            )?
        )?;
    } else {
        writeln!(out)?;
        writeln!(out, "{sent} delivered, {left} still pending.")?;
        if let Some(n) = note {
            writeln!(out, "{n}")?;
        }
    }
    Ok(())
}
