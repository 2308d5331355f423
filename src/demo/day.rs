//! The scripted day: every request goes through the agent's HTTP API, like a register's.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{DEMO_TOKEN, DemoLane};

/// No PIN, $50.
const CARD_50: &str = "6006491000000001";
/// PIN 4321, $100.
const CARD_PIN: &str = "6006491000000002";
/// No PIN, $3.50.
const CARD_3_50: &str = "6006491000000004";

/// The longest any single wait of the day may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One step of the day, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's headline.
    pub title: String,
    /// What happened, one line each.
    pub lines: Vec<String>,
}

/// What the day did, and the final reconciliation of the journal with the POS ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReport {
    /// The steps in order.
    pub steps: Vec<Step>,
    /// Sales completed in the agent's journal.
    pub completed: usize,
    /// Purchases in the POS ledger for those sales.
    pub recorded: usize,
    /// Completed sales the ledger does not have.
    pub lost: usize,
    /// Completed sales the ledger has more than once.
    pub duplicates: usize,
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(DEMO_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status().as_u16();
        let value = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, v) = self.call(method, path, body).await?;
        if !(200..300).contains(&status) {
            bail!("{path} answered {status}: {v}");
        }
        Ok(v)
    }

    async fn open(&self, sale_id: &str, total: &str) -> anyhow::Result<Value> {
        self.ok(
            reqwest::Method::POST,
            "/v1/sales",
            Some(json!({"sale_id": sale_id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": total}]})),
        )
        .await
    }

    async fn pay(&self, sale_id: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/sales/{sale_id}/payments"),
            Some(body),
        )
        .await
    }

    async fn complete(&self, sale_id: &str) -> anyhow::Result<Value> {
        self.ok(
            reqwest::Method::POST,
            &format!("/v1/sales/{sale_id}/complete"),
            None,
        )
        .await
    }

    async fn sale(&self, sale_id: &str) -> anyhow::Result<Value> {
        self.ok(reqwest::Method::GET, &format!("/v1/sales/{sale_id}"), None)
            .await
    }

    async fn status(&self) -> anyhow::Result<Value> {
        self.ok(reqwest::Method::GET, "/v1/status", None).await
    }
}

fn s(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(x) => x.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// "approved 12.00 (balance 38.00)" or "declined: reason" for a payment answer.
fn describe_payment(status: u16, v: &Value) -> String {
    if !(200..300).contains(&status) {
        return format!("refused with {status} {}", s(&v["error"], "code"));
    }
    let mut out = format!("{} {}", s(v, "status"), s(v, "approved_amount"));
    if v["balance"].is_string() {
        out.push_str(&format!(" (card balance {})", s(v, "balance")));
    }
    if v["reason"].is_string() {
        out.push_str(&format!(", reason: {}", s(v, "reason")));
    }
    out.push_str(&format!(", due {}", s(v, "due")));
    out
}

struct Day<'a> {
    api: Api,
    out: &'a mut (dyn Write + Send),
    steps: Vec<Step>,
    completed: Vec<String>,
}

impl Day<'_> {
    fn step(&mut self, title: &str, lines: Vec<String>) -> anyhow::Result<()> {
        let n = self.steps.len() + 1;
        writeln!(self.out, "[{n}] {title}")?;
        for l in &lines {
            writeln!(self.out, "    {l}")?;
        }
        self.out.flush()?;
        self.steps.push(Step {
            title: title.to_owned(),
            lines,
        });
        Ok(())
    }

    async fn open(&self, sale_id: &str, total: &str) -> anyhow::Result<String> {
        let v = self.api.open(sale_id, total).await?;
        Ok(format!(
            "sale {sale_id} opened: total {}, due {}",
            s(&v, "total"),
            s(&v, "due")
        ))
    }

    async fn pay(&self, sale_id: &str, what: &str, body: Value) -> anyhow::Result<(String, Value)> {
        let (status, v) = self.api.pay(sale_id, body).await?;
        Ok((format!("{what}: {}", describe_payment(status, &v)), v))
    }

    async fn complete(&mut self, sale_id: &str) -> anyhow::Result<String> {
        let v = self.api.complete(sale_id).await?;
        self.completed.push(sale_id.to_owned());
        Ok(format!(
            "sale {sale_id} {}, purchase {}",
            s(&v, "state"),
            s(&v, "purchase")
        ))
    }

    async fn card_refs(&self, sale_id: &str) -> anyhow::Result<Vec<String>> {
        let v = self.api.sale(sale_id).await?;
        Ok(v["payments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["method"] == "card")
            .map(|p| {
                format!(
                    "terminal: card {} receipt {} ({})",
                    s(p, "masked_pan"),
                    s(p, "receipt_no"),
                    s(p, "state")
                )
            })
            .collect())
    }
}

/// Plays the day on `lane`, printing each step to `out`.
pub(super) async fn play(
    lane: &mut DemoLane,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<DayReport> {
    let api = Api {
        http: reqwest::Client::builder().timeout(STEP_TIMEOUT).build()?,
        base: lane.api_url.clone(),
    };
    let mut day = Day {
        api,
        out,
        steps: Vec::new(),
        completed: Vec::new(),
    };

    // 1. Keyed gift card.
    let mut l = vec![day.open("demo-1", "12.00").await?];
    let (line, _) = day
        .pay("demo-1", "gift card ****0001 keyed", json!({"method": "giftcard", "amount": "12.00", "code": CARD_50, "payment_id": "demo-1-p1"}))
        .await?;
    l.push(line);
    l.push(day.complete("demo-1").await?);
    day.step("Gift-card sale, code keyed at the register", l)?;

    // 2. Keyed gift card that needs a PIN: the POS says so, the terminal asks the customer.
    let mut l = vec![day.open("demo-2", "8.00").await?];
    let (line, _) = day
        .pay("demo-2", "gift card ****0002 keyed without PIN (PIN asked on the terminal)", json!({"method": "giftcard", "amount": "8.00", "code": CARD_PIN, "payment_id": "demo-2-p1"}))
        .await?;
    l.push(line);
    l.push(day.complete("demo-2").await?);
    day.step("Gift-card sale with a PIN entered on the terminal", l)?;

    // 3. Swiped gift card: the register sends no code, the agent takes the reader's swipe.
    let mut l = vec![day.open("demo-3", "5.00").await?];
    lane.reader
        .swipe(&hardware_sim::reader::cards::gift_card_tracks(CARD_50))
        .await
        .context("swiping on the simulated reader")?;
    l.push("reader msr: gift card swiped".into());
    let (line, _) = day
        .pay(
            "demo-3",
            "gift card from the reader",
            json!({"method": "giftcard", "amount": "5.00", "payment_id": "demo-3-p1"}),
        )
        .await?;
    l.push(line);
    l.push(day.complete("demo-3").await?);
    day.step("Gift-card sale, card swiped on the reader", l)?;

    // 4. Split tender: a small gift card approves part, the terminal takes the rest.
    let mut l = vec![day.open("demo-4", "30.00").await?];
    let (line, v) = day
        .pay("demo-4", "gift card ****0004 for 30.00", json!({"method": "giftcard", "amount": "30.00", "code": CARD_3_50, "payment_id": "demo-4-p1"}))
        .await?;
    l.push(line);
    let rest = s(&v, "due");
    let (line, _) = day
        .pay(
            "demo-4",
            &format!("card on the terminal for {rest}"),
            json!({"method": "card", "amount": rest, "payment_id": "demo-4-p2"}),
        )
        .await?;
    l.push(line);
    l.extend(day.card_refs("demo-4").await?);
    l.push(day.complete("demo-4").await?);
    day.step("Split tender: gift card (partial approval) + card", l)?;

    // 5. Card only.
    let mut l = vec![day.open("demo-5", "42.10").await?];
    let (line, _) = day
        .pay(
            "demo-5",
            "card on the terminal",
            json!({"method": "card", "amount": "42.10", "payment_id": "demo-5-p1"}),
        )
        .await?;
    l.push(line);
    l.extend(day.card_refs("demo-5").await?);
    l.push(day.complete("demo-5").await?);
    day.step("Card payment on the terminal", l)?;

    // 6. Outage: offline gift-card sales within the caps. The link drops only once the
    // purchases so far are delivered: cutting it under a purchaseAdd in flight would leave
    // that purchase in doubt (correctly never re-sent), which is not what this step shows.
    drained(&day.api).await?;
    lane.pos.control().set_online(false).await;
    let mut l = vec!["POS stand-in taken offline (connections refused)".to_owned()];
    for (id, amount) in [("demo-6", "10.00"), ("demo-7", "15.00")] {
        l.push(day.open(id, amount).await?);
        let (line, _) = day
            .pay(id, "gift card ****0001 keyed", json!({"method": "giftcard", "amount": amount, "code": CARD_50, "payment_id": format!("{id}-p1")}))
            .await?;
        l.push(line);
        l.push(day.complete(id).await?);
    }
    let st = day.api.status().await?;
    l.push(format!(
        "status: link {}, outbox pending {}, offline budget left {} / {} tenders",
        s(&st, "link"),
        s(&st["outbox"], "pending"),
        s(&st["offline_budget"], "remaining_amount"),
        s(&st["offline_budget"], "remaining_count"),
    ));
    l.push(offline_display(lane).await);
    day.step("Outage: offline gift-card sales within the caps", l)?;

    // 7. Beyond a cap: refused offline, paid by card instead.
    let mut l = vec![day.open("demo-8", "20.00").await?];
    let (line, _) = day
        .pay("demo-8", "gift card ****0001 keyed for 20.00 (offline total cap 40.00)", json!({"method": "giftcard", "amount": "20.00", "code": CARD_50, "payment_id": "demo-8-p1"}))
        .await?;
    l.push(line);
    let (line, _) = day
        .pay(
            "demo-8",
            "card on the terminal instead",
            json!({"method": "card", "amount": "20.00", "payment_id": "demo-8-p2"}),
        )
        .await?;
    l.push(line);
    l.push(day.complete("demo-8").await?);
    day.step("Offline: a gift card beyond the offline cap is refused", l)?;

    // 8. The link comes back; the outbox drains.
    lane.pos.control().set_online(true).await;
    let mut l = vec!["POS stand-in back online".to_owned()];
    l.extend(drained(&day.api).await?);
    day.step("The link comes back and the outbox drains", l)?;

    // 9. Reconciliation: the journal against the POS ledger.
    let ledger = lane.pos.control().ledger();
    let mut l = Vec::new();
    let (mut lost, mut duplicates, mut recorded) = (0, 0, 0);
    for id in day.completed.clone() {
        let v = day.api.sale(&id).await?;
        let tid = s(&v, "transaction_id");
        let n = ledger.purchases_with(&tid).len();
        recorded += n.min(1);
        match n {
            0 => lost += 1,
            1 => {}
            _ => duplicates += 1,
        }
        l.push(format!(
            "{id}: transaction {tid}, total {}, purchases in the ledger: {n}",
            s(&v, "total")
        ));
    }
    let balance = ledger
        .balance("1001")
        .map(|b| b.to_string())
        .unwrap_or_else(|| "-".into());
    l.push(format!("gift card ****0001 balance at the POS: {balance} (50.00 - 12.00 - 5.00 - 10.00 - 15.00 = 8.00)"));
    l.push(format!(
        "journal: {} completed sales; ledger: {} recorded; lost: {lost}; duplicates: {duplicates}",
        day.completed.len(),
        recorded
    ));
    day.step("Reconciliation: journal vs POS ledger", l)?;

    Ok(DayReport {
        steps: day.steps,
        completed: day.completed.len(),
        recorded,
        lost,
        duplicates,
    })
}

/// What the terminal shows the cashier during the outage (waits, bounded, for "OFFLINE").
/// Waits until the link is online and nothing is pending; returns each status change seen.
async fn drained(api: &Api) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut seen = Vec::new();
    let mut last = String::new();
    loop {
        let st = api.status().await?;
        let (link, pending, in_doubt) = (
            s(&st, "link"),
            s(&st["outbox"], "pending"),
            s(&st["outbox"], "in_doubt"),
        );
        let now = format!("link {link}, outbox pending {pending}, in doubt {in_doubt}");
        if now != last {
            seen.push(format!("status: {now}"));
            last = now;
        }
        if link == "online" && pending == "0" {
            return Ok(seen);
        }
        if Instant::now() >= deadline {
            bail!("the outbox did not drain within {STEP_TIMEOUT:?} ({last})");
        }
        // Polling an observable condition at a short interval; the deadline bounds it.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn offline_display(lane: &DemoLane) -> String {
    let control = lane.terminal.control();
    let mut events = control.subscribe();
    let found = |d: &[Vec<String>]| {
        d.iter()
            .rev()
            .find(|lines| lines.first().is_some_and(|l| l == "OFFLINE"))
            .map(|lines| lines.join(" / "))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(text) = found(&control.displays()) {
            return format!("terminal display: {text}");
        }
        if tokio::time::timeout_at(deadline, events.recv())
            .await
            .is_err()
        {
            return "terminal display: (no OFFLINE notice shown)".into();
        }
    }
}
