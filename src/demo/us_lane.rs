//! `lane-agent demo --terminal pos`: a US lane whose cards go through the POS to a
//! processor terminal (`terminal.protocol = "pos"`, `terminalPayment`); no ZVT terminal.
//!
//! The day: a card approved at the terminal and captured at completion; a partial approval
//! split with a gift card; a customer who cancels at the terminal; a sale cancelled after
//! its card was approved (voided); then the reconciliation of the journal with the POS
//! ledger (one purchase per completed sale, captures and voids as the register saw them).

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use hardware_sim::pos::{PosSim, Seed, TerminalOutcome, TerminalStep, TpStatus};
use pos_client::backoff::Backoff;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::day::{DayReport, Step};
use super::{DEMO_TOKEN, private};
use crate::service::wiring::{WireOptions, wire_with};

/// The processor terminal of the demo lane (the seed's `FORTIS-T-0042`).
const TERMINAL: &str = "FORTIS-T-0042";
/// No PIN, $50.
const GIFT_50: &str = "6006491000000001";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(DEMO_TOKEN);
        if method != reqwest::Method::GET {
            req = req.json(&body);
        }
        let resp = req.send().await.with_context(|| path.to_owned())?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {v}");
        }
        Ok(v)
    }
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, body).await
    }
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, Value::Null).await
    }
    async fn open(&self, sale_id: &str, total: &str) -> anyhow::Result<String> {
        let v = self
            .post(
                "/v1/sales",
                json!({"sale_id": sale_id, "lines": [{"sku": "1000001", "quantity": "1", "unit_price": total}]}),
            )
            .await?;
        Ok(format!("sale {sale_id} opened: total {}", s(&v, "total")))
    }
    async fn card(&self, sale_id: &str, pid: &str, amount: &str) -> anyhow::Result<Value> {
        self.post(
            &format!("/v1/sales/{sale_id}/payments"),
            json!({"method": "card", "amount": amount, "payment_id": pid}),
        )
        .await
    }
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("-").to_owned()
}

fn answer(what: &str, v: &Value) -> String {
    let mut line = format!(
        "{what}: {} {} (due {})",
        s(v, "status"),
        s(v, "approved_amount"),
        s(v, "due")
    );
    if let Some(r) = v.get("reason").and_then(Value::as_str) {
        line.push_str(&format!(", reason {r}"));
    }
    line
}

fn step(outcome: TerminalOutcome, delay_ms: u64) -> TerminalStep {
    TerminalStep {
        terminal: TERMINAL.into(),
        outcome,
        delay_ms: Some(delay_ms),
    }
}

fn config_text(dir: &std::path::Path, pos: &PosSim) -> anyhow::Result<String> {
    let secret = private(
        dir,
        "pos-client-secret",
        "lane-agent-sim-secret-0123456789\n",
    )?;
    let token = private(dir, "api-token", &format!("{DEMO_TOKEN}\n"))?;
    Ok(format!(
        r#"[lane]
store_code = "DALLAS"
register_code = "LANE01"

[pos]
graphql_url = "{}"
issuer_url = "{}"
client_id = "lane-agent"
client_secret_file = "{}"
request_timeout_ms = 3000

[api]
listen = "127.0.0.1:0"
token_file = "{}"

[store]
path = "{}"

[terminal]
protocol = "pos"
terminal_id = "{TERMINAL}"

[offline]
enabled = false
"#,
        pos.graphql_url(),
        pos.issuer_url(),
        secret.display(),
        token.display(),
        dir.join("agent.db").display(),
    ))
}

/// Runs the US day; with `keep_running`, serves until Ctrl-C afterwards.
///
/// # Errors
/// When the lane cannot start or a step fails outright.
pub async fn run(keep_running: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<DayReport> {
    let dir = tempfile::Builder::new()
        .prefix("lane-agent-demo-us-")
        .tempdir()?;
    let pos = PosSim::start("127.0.0.1:0".parse()?, Seed::example())
        .await
        .context("starting the POS stand-in")?;
    let config = dir.path().join("lane-agent.toml");
    std::fs::write(&config, config_text(dir.path(), &pos)?)?;
    let loaded = crate::config::load_file(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
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
    let api = Api {
        http: reqwest::Client::builder().timeout(STEP_TIMEOUT).build()?,
        base: format!("http://{}", running.local_addr()),
    };
    let shutdown = running.shutdown_token();
    let agent = tokio::spawn(running.wait());
    writeln!(
        out,
        "lane-agent demo --terminal pos: a US lane, cards on processor terminal {TERMINAL} through the POS\n  POS stand-in  {}\n  agent API     {}\n",
        pos.graphql_url(),
        api.base
    )?;
    let result = play(&pos, &api, out).await;
    if keep_running && result.is_ok() {
        writeln!(
            out,
            "\nThe lane keeps running. API: {}  token: {DEMO_TOKEN}\nPress Ctrl-C to stop.",
            api.base
        )?;
        out.flush()?;
        let _ = agent.await?;
    } else {
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(20), agent).await;
    }
    pos.shutdown().await;
    result
}

async fn play(pos: &PosSim, api: &Api, out: &mut (dyn Write + Send)) -> anyhow::Result<DayReport> {
    let control = pos.control();
    let mut steps = Vec::new();
    let mut completed = Vec::new();
    let mut emit = |title: &str, lines: Vec<String>, out: &mut (dyn Write + Send)| {
        writeln!(out, "== {title}")?;
        for l in &lines {
            writeln!(out, "   {l}")?;
        }
        steps.push(Step {
            title: title.to_owned(),
            lines,
        });
        anyhow::Ok(())
    };

    // 1. A card at the terminal: the customer takes a moment, the processor approves.
    control.terminal_step(step(TerminalOutcome::Approve, 600));
    let mut l = vec![api.open("us-1", "24.00").await?];
    let v = api.card("us-1", "us-1-card", "24.00").await?;
    l.push(answer("card on the terminal (customer took 0.6 s)", &v));
    let done = api.post("/v1/sales/us-1/complete", json!({})).await?;
    l.push(format!(
        "complete: {}; the authorization is captured",
        s(&done, "state")
    ));
    completed.push("us-1");
    emit("Card payment through the POS terminal", l, out)?;

    // 2. Partial approval: the card covers 25.00 of 40.00; a gift card pays the rest.
    control.terminal_step(step(
        TerminalOutcome::Partial {
            amount: "25.00".parse()?,
        },
        300,
    ));
    let mut l = vec![api.open("us-2", "40.00").await?];
    let v = api.card("us-2", "us-2-card", "40.00").await?;
    l.push(answer("card on the terminal", &v));
    let due = s(&v, "due");
    let g = api
        .post(
            "/v1/sales/us-2/payments",
            json!({"method": "giftcard", "amount": due, "code": GIFT_50, "payment_id": "us-2-gift"}),
        )
        .await?;
    l.push(answer("gift card ****0001 for the rest", &g));
    let done = api.post("/v1/sales/us-2/complete", json!({})).await?;
    l.push(format!("complete: {}", s(&done, "state")));
    completed.push("us-2");
    emit("Partial approval split with a gift card", l, out)?;

    // 3. The customer cancels at the terminal; the cashier cancels the sale.
    control.terminal_step(step(TerminalOutcome::Cancel, 300));
    let mut l = vec![api.open("us-3", "12.00").await?];
    let v = api.card("us-3", "us-3-card", "12.00").await?;
    l.push(answer("card on the terminal", &v));
    let c = api.post("/v1/sales/us-3/cancel", json!({})).await?;
    l.push(format!("sale {}: nothing was charged", s(&c, "state")));
    emit("Customer cancels at the terminal", l, out)?;

    // 4. Approved, then the sale is cancelled: the authorization is voided.
    control.terminal_step(step(TerminalOutcome::Approve, 200));
    let mut l = vec![api.open("us-4", "9.00").await?];
    let v = api.card("us-4", "us-4-card", "9.00").await?;
    l.push(answer("card on the terminal", &v));
    let c = api.post("/v1/sales/us-4/cancel", json!({})).await?;
    l.push(format!(
        "sale {}: the authorization is voided",
        s(&c, "state")
    ));
    emit("Sale cancelled after the approval", l, out)?;

    // 5. Reconciliation once the outbox has drained.
    let deadline = Instant::now() + STEP_TIMEOUT;
    let ledger = loop {
        let ledger = control.ledger();
        if ledger.purchases.len() >= completed.len() || Instant::now() > deadline {
            break ledger;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut l = Vec::new();
    let (mut lost, mut duplicates, mut recorded) = (0, 0, 0);
    for id in &completed {
        let v = api.get(&format!("/v1/sales/{id}")).await?;
        let tid = s(&v, "transaction_id");
        let n = ledger.purchases_with(&tid).len();
        recorded += n.min(1);
        match n {
            0 => lost += 1,
            1 => {}
            _ => duplicates += 1,
        }
        l.push(format!(
            "{id}: transaction {tid}, purchases in the ledger: {n}"
        ));
    }
    for tp in &ledger.terminal_payments {
        l.push(format!(
            "terminal payment {} refNo {}: {:?}, approved {} of {}, captured {}",
            tp.id,
            tp.ref_no,
            tp.status,
            tp.approved_amount,
            tp.amount,
            tp.captured_amount
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    let captured = ledger
        .terminal_payments
        .iter()
        .filter(|t| t.status == TpStatus::Captured)
        .count();
    let voided = ledger
        .terminal_payments
        .iter()
        .filter(|t| t.status == TpStatus::Voided)
        .count();
    let double_captures = ledger
        .terminal_payments
        .iter()
        .filter(|t| t.captures > 1)
        .count();
    l.push(format!(
        "journal: {} completed sales; ledger: {recorded} recorded; lost: {lost}; duplicates: {duplicates}; terminal payments: {} ({captured} captured, {voided} voided, {double_captures} captured twice)",
        completed.len(),
        ledger.terminal_payments.len()
    ));
    emit("Reconciliation: journal vs POS ledger", l, out)?;
    Ok(DayReport {
        steps,
        completed: completed.len(),
        recorded,
        lost,
        duplicates: duplicates + double_captures,
    })
}
