//! Benchmark: forwarding a backlog of outbox purchases through the engine against the POS
//! stand-in, compared with the stand-in's own capacity measured by a plain loop over the engine's
//! POS adapter (same requests, no journal, no engine).
//!
//! Run: `cargo run --release -p lane-agent --example engine_forward_bench [N]` (N = 10000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hardware_sim::pos::{PosSim, Seed};
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

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let sim = PosSim::start("127.0.0.1:0".parse().expect("addr"), Seed::example())
        .await
        .expect("sim");

    // 1. The stand-in's capacity: a plain client, one request after the other.
    // The engine's own POS adapter, so both runs send the very same requests.
    let plain = PosPorts::new(client(&sim), None);
    let t = Instant::now();
    for i in 0..n {
        plain
            .purchase_add(&purchase(format!("PLAIN-{i}")))
            .await
            .expect("plain purchaseAdd");
    }
    let plain_el = t.elapsed();

    // 2. The engine: a backlog of n purchases in the outbox, drained by the forwarder.
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
                        sale_id: None,
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
    let mut sent = 0usize;
    while let Step::Done(..) = engine.forward_once().await.expect("forward") {
        sent += 1;
    }
    let lane_el = t.elapsed();
    let ledger = sim.control().ledger();
    let dupes = (0..n)
        .filter(|i| ledger.purchases_with(&format!("LANE-{i}")).len() != 1)
        .count();

    let rate = |k: usize, d: Duration| k as f64 / d.as_secs_f64();
    println!("forwarding benchmark against hardware-sim pos, {n} purchases");
    println!(
        "plain POS adapter loop (stand-in capacity){:>8.1} req/s  ({:.3} ms/req)",
        rate(n, plain_el),
        plain_el.as_secs_f64() * 1e3 / n as f64
    );
    println!(
        "engine forwarder (journal + POS)           {:>8.1} items/s ({:.3} ms/item), {sent} sent, {dupes} not exactly once",
        rate(sent, lane_el),
        lane_el.as_secs_f64() * 1e3 / sent.max(1) as f64
    );
}
