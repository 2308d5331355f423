//! Benchmark: draining a backlog of outbox purchases through the engine against the POS
//! stand-in (issue 15 items 7 and 8), side by side in one run:
//!
//! 1. the floor: a plain keep-alive client (the engine's own POS adapter, so the very same
//!    requests on one pooled connection) sending the purchases one after the other, with no
//!    journal, on a fresh stand-in;
//! 2. the engine's old step loop (`forward_once`: claim commit, request, outcome commit);
//! 3. the drain with `forward_window = 1` (strict order: one commit per purchase, the next
//!    claim's commit overlapping the request in flight): its ratio to (1) is the goal (≥ 0.9);
//! 4. the drain with the default window (8);
//! 5. the slow link: 1,000 purchases with 100 ms added to every `purchaseAdd` (the stand-in's
//!    latency fault), drained with the default window: goal ≤ 30 s (sequential: ≥ 100 s).
//!
//! Each engine run has its own fresh stand-in and store, and every run is checked: each
//! purchase recorded exactly once.
//!
//! Run: `cargo run --release -p lane-agent --example engine_forward_bench [N]` (N = 10000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hardware_sim::pos::{Fault as PosFault, FaultKind, FaultTarget, PosSim, Seed};
use lane_agent::engine::adapters::PosPorts;
use lane_agent::engine::forwarder::Step;
use lane_agent::engine::ports::*;
use lane_agent::engine::{Engine, EngineConfig, OfflinePolicy, Ports, simple_backoff};
use lane_agent::store::outbox::{self, NewItem};
use lane_agent::store::{Money, OutboxKind, Store, StoreOptions};
use pos_client::{CodeType, PosClient, PosConfig};
use secrecy::SecretString;

struct NoTerminal;

#[async_trait]
impl PaymentTerminal for NoTerminal {
    async fn authorize(&self, _: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        Err(TerminalError::NotSent("bench".into()))
    }
    async fn reserve(&self, _: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        Err(TerminalError::NotSent("bench".into()))
    }
    async fn book_total(&self, _: u32, _: Money) -> Result<TerminalOutcome, TerminalError> {
        Err(TerminalError::NotSent("bench".into()))
    }
    async fn reverse(&self, _: u32, _: bool) -> Result<TerminalOutcome, TerminalError> {
        Err(TerminalError::NotSent("bench".into()))
    }
    async fn last_trace(&self) -> Option<u32> {
        None
    }
    async fn recover(&self, _: &RecoveryIntent) -> Result<Recovered, TerminalError> {
        Err(TerminalError::NotSent("no terminal".into()))
    }
    async fn numeric_input(&self, _: &str, _: u8) -> Result<Option<SecretString>, TerminalError> {
        Ok(None)
    }
}

fn purchase(tid: String) -> PurchaseInput {
    let one: Money = "1.00".parse().expect("decimal");
    PurchaseInput {
        transaction_id: tid,
        store_code: "DALLAS".into(),
        purchased_on: "2026-11-28T10:00:00".into(),
        pay_amount: one.get(),
        sale_discount_amount: rust_decimal::Decimal::ZERO,
        item_discount_amount: rust_decimal::Decimal::ZERO,
        sub_total: one.get(),
        refund_amount: rust_decimal::Decimal::ZERO,
        tax_amount: rust_decimal::Decimal::ZERO,
        line_items: vec![PurchaseLine {
            line_number: 1,
            sku: "ITEM-001".into(),
            is_refund: false,
            unit_price: one.get(),
            ext_price: one.get(),
            item_discount_amount: rust_decimal::Decimal::ZERO,
            sale_discount_amount: rust_decimal::Decimal::ZERO,
            quantity: one.get(),
            uom: "EA".into(),
        }],
        channel: None,
        member_id: None,
        order_type: None,
        pay_method: Some("CASH".into()),
        customer_id: None,
        email: None,
    }
}

fn client(sim: &PosSim) -> PosClient {
    PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: "lane-agent".into(),
        client_secret: SecretString::from("lane-agent-sim-secret-0123456789".to_owned()),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: pos_client::DEFAULT_MAX_RESPONSE_BYTES,
    })
    .expect("client")
}

/// How the engine drains its backlog in one run.
#[derive(Clone, Copy)]
enum Mode {
    /// `forward_once` in a loop (the forwarder before the window).
    Steps,
    /// `drain_outbox` with this window.
    Drain(usize),
}

struct Run {
    elapsed: Duration,
    sent: usize,
    not_once: usize,
    /// Most `purchaseAdd` requests the stand-in had at once (arrived, not yet recorded).
    max_at_pos: usize,
}

async fn sim(latency: Option<Duration>) -> PosSim {
    let sim = PosSim::start("127.0.0.1:0".parse().expect("addr"), Seed::example())
        .await
        .expect("sim");
    if let Some(d) = latency {
        sim.control().inject(PosFault {
            target: FaultTarget::Operation("purchaseAdd".into()),
            kind: FaultKind::Latency(d),
            times: None,
        });
    }
    sim
}

/// The floor: the same requests from a plain keep-alive client, one after the other.
async fn plain(n: usize) -> Duration {
    let sim = sim(None).await;
    let plain = PosPorts::new(client(&sim), None);
    // Token and connection first, as the engine's warm-up does.
    plain
        .purchase_add(&purchase("PLAIN-WARM".into()))
        .await
        .expect("warm-up");
    let t = Instant::now();
    for i in 0..n {
        plain
            .purchase_add(&purchase(format!("PLAIN-{i}")))
            .await
            .expect("plain purchaseAdd");
    }
    let el = t.elapsed();
    sim.shutdown().await;
    el
}

async fn engine_run(n: usize, mode: Mode, latency: Option<Duration>) -> Run {
    let sim = sim(None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .expect("store");
    store
        .write(move |c, _| {
            for i in 0..n {
                let payload = serde_json::to_string(&purchase(format!("LANE-{i}")))
                    .map_err(|e| lane_agent::store::StoreError::Data(e.to_string()))?;
                outbox::enqueue(
                    c,
                    &NewItem {
                        kind: OutboxKind::Purchase,
                        sale_id: Some(format!("S-{i}")),
                        payment_id: None,
                        amount: None,
                        code_hash: None,
                        payload,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .expect("backlog");
    let ports = PosPorts::new(client(&sim), Some(CodeType::Physical));
    // Token and connection first, as the plain client's warm-up does.
    ports
        .purchase_add(&purchase("LANE-WARM".into()))
        .await
        .expect("warm-up");
    if let Some(d) = latency {
        sim.control().inject(PosFault {
            target: FaultTarget::Operation("purchaseAdd".into()),
            kind: FaultKind::Latency(d),
            times: None,
        });
    }
    let ms = Duration::from_millis;
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(ports.clone()),
            purchases: Arc::new(ports),
            terminal: Arc::new(NoTerminal),
        },
        EngineConfig {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            offline: OfflinePolicy::disabled(),
            forward_backoff: simple_backoff(ms(10), ms(100)),
            probe_backoff: simple_backoff(ms(10), ms(100)),
            fault: None,
        },
    );
    let t = Instant::now();
    let sent = match mode {
        Mode::Steps => {
            let mut sent = 0usize;
            while let Step::Done(..) = engine.forwarder().forward_once().await.expect("forward") {
                sent += 1;
            }
            sent
        }
        Mode::Drain(window) => {
            engine.forwarder().set_window(window);
            let d = engine.forwarder().drain_outbox().await.expect("drain");
            assert!(!d.stopped, "the drain stopped on an item it could not send");
            d.done
        }
    };
    let elapsed = t.elapsed();
    let ledger = sim.control().ledger();
    let not_once = (0..n)
        .filter(|i| ledger.purchases_with(&format!("LANE-{i}")).len() != 1)
        .count();
    // Arrival (+1) and record (-1) of each purchase at the stand-in, on its one clock.
    let mut marks: Vec<(chrono::DateTime<chrono::Utc>, i32)> = Vec::new();
    for p in &ledger.purchases {
        if let Some(r) = ledger
            .requests
            .iter()
            .find(|r| r.transaction_id.as_deref() == Some(p.transaction_id.as_str()))
        {
            marks.push((r.at, 1));
            marks.push((p.recorded_at, -1));
        }
    }
    marks.sort();
    let (mut now, mut max_at_pos) = (0i32, 0i32);
    for (_, d) in marks {
        now += d;
        max_at_pos = max_at_pos.max(now);
    }
    sim.shutdown().await;
    Run {
        elapsed,
        sent,
        not_once,
        max_at_pos: usize::try_from(max_at_pos).unwrap_or(0),
    }
}

/// One bare SQLite `BEGIN IMMEDIATE; INSERT; COMMIT` (WAL, FULL) on the same disk, mean: the
/// cost of the one durable commit each purchase needs before its request may leave.
fn bare_commit(n: usize) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = rusqlite::Connection::open(dir.path().join("bare.db")).expect("open");
    c.pragma_update(None, "journal_mode", "wal").expect("wal");
    c.pragma_update(None, "synchronous", "FULL").expect("full");
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
        .expect("table");
    let t = Instant::now();
    for i in 0..n {
        c.execute_batch("BEGIN IMMEDIATE").expect("begin");
        c.execute("INSERT INTO t(a) VALUES (?1)", [i.to_string()])
            .expect("insert");
        c.execute_batch("COMMIT").expect("commit");
    }
    t.elapsed() / u32::try_from(n).expect("n")
}

fn rate(k: usize, d: Duration) -> f64 {
    k as f64 / d.as_secs_f64()
}

fn line(what: &str, r: &Run, floor: f64) {
    let per_s = rate(r.sent, r.elapsed);
    println!(
        "{what:<44}{per_s:>8.1} purchases/s ({:.3} ms each)  {:.2}x plain  {} sent, {} not exactly once, at most {} at the POS at once",
        r.elapsed.as_secs_f64() * 1e3 / r.sent.max(1) as f64,
        per_s / floor,
        r.sent,
        r.not_once,
        r.max_at_pos
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let slow_n = 1_000;
    let latency = Duration::from_millis(100);

    println!("outbox drain against hardware-sim pos, {n} purchases each run");
    let plain_el = plain(n).await;
    let floor = rate(n, plain_el);
    println!(
        "{:<44}{floor:>8.1} purchases/s ({:.3} ms each)",
        "plain keep-alive client (floor, no journal)",
        plain_el.as_secs_f64() * 1e3 / n as f64
    );
    let steps = engine_run(n, Mode::Steps, None).await;
    line("engine, old step loop (2 commits/item)", &steps, floor);
    let commit = bare_commit(1000);
    let one = engine_run(n, Mode::Drain(1), None).await;
    line("engine drain, forward_window = 1", &one, floor);
    let commit_after = bare_commit(1000);
    let commit = (commit + commit_after) / 2;
    let request = plain_el / u32::try_from(n).expect("n");
    let durable = 1.0 / commit.max(request).as_secs_f64();
    println!(
        "bare SQLite commit (WAL, FULL) on this disk: {:.3} ms mean around that run; one durable \
         commit per purchase overlapping its request can do at most {durable:.1} purchases/s \
         ({:.2}x plain); forward_window = 1 reaches {:.2}x of that",
        commit.as_secs_f64() * 1e3,
        durable / floor,
        rate(one.sent, one.elapsed) / durable
    );
    let eight = engine_run(n, Mode::Drain(8), None).await;
    line("engine drain, forward_window = 8", &eight, floor);
    println!(
        "goal (item 7): forward_window = 1 >= 0.90x plain: {:.2}x {}",
        rate(one.sent, one.elapsed) / floor,
        if rate(one.sent, one.elapsed) / floor >= 0.9 {
            "MET"
        } else {
            "NOT MET"
        }
    );

    let slow = engine_run(slow_n, Mode::Drain(8), Some(latency)).await;
    println!(
        "slow link: {slow_n} purchases, +{} ms per purchaseAdd, forward_window = 8: drained in {:.1} s (sequential >= {:.0} s), {} sent, {} not exactly once, at most {} at the POS at once; goal (item 8) <= 30 s: {}",
        latency.as_millis(),
        slow.elapsed.as_secs_f64(),
        slow_n as f64 * latency.as_secs_f64(),
        slow.sent,
        slow.not_once,
        slow.max_at_pos,
        if slow.elapsed <= Duration::from_secs(30) && slow.not_once == 0 {
            "MET"
        } else {
            "NOT MET"
        }
    );
}
