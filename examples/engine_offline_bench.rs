//! Benchmark: an offline gift-card approval including its durable commit, against a bare
//! SQLite insert+commit with the same settings (WAL, synchronous=FULL, BEGIN IMMEDIATE);
//! and the forwarder's drain rate for a 10,000-item backlog against an in-process sink that
//! answers at once (the engine's own ceiling; the stand-in's capacity is measured elsewhere).
//!
//! Run: `cargo run --release -p lane-agent --example engine_offline_bench [N]`
//! (the files go to `$TMPDIR`; run it on the disk the agent will use).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lane_agent::engine::ports::*;
use lane_agent::engine::{
    Engine, EngineConfig, OfflinePolicy, OpenSale, PaymentRequest, PaymentStatus, Ports,
    UnknownCard, simple_backoff,
};
use lane_agent::store::payments::{EntryMode, Method, TerminalMode};
use lane_agent::store::sales::LineInput;
use lane_agent::store::{Money, Store, StoreOptions};
use secrecy::SecretString;

struct Down;

#[async_trait]
impl GiftcardHost for Down {
    async fn balance(&self, _: &CardSecret) -> Result<GiftcardBalance, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn authorize_use(&self, _: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn use_now(&self, _: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn capture(&self, _: &str) -> Result<GiftcardTrans, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn cancel(&self, _: &str) -> Result<GiftcardTrans, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn create(&self, _: &CardSecret) -> Result<String, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn add(&self, _: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
    async fn environment(&self) -> Result<(), HostError> {
        Err(HostError::NotSent("bench: offline".into()))
    }
}

struct InstantSink;

#[async_trait]
impl PurchaseSink for InstantSink {
    async fn purchase_add(&self, _: &PurchaseInput) -> Result<String, SinkError> {
        Ok("PUR".into())
    }
}

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

fn m(s: &str) -> Money {
    s.parse().expect("decimal")
}

fn stats(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let n = d.len();
    let total: Duration = d.iter().sum();
    let pct = |p: f64| d[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{name:<44} n={n:<6} mean={:>8.3} ms  p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        total.as_secs_f64() * 1e3 / n as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        d[n - 1].as_secs_f64() * 1e3
    );
}

fn engine(store: Store, giftcards: Arc<dyn GiftcardHost>, n: u64) -> Engine {
    let ms = Duration::from_millis;
    Engine::new(
        store,
        Ports {
            giftcards,
            purchases: Arc::new(InstantSink),
            terminal: Arc::new(NoTerminal),
        },
        EngineConfig {
            store_code: "BENCH".into(),
            register_code: "LANE01".into(),
            offline: OfflinePolicy {
                enabled: true,
                max_transaction_amount: m("50"),
                max_total_amount: Money(rust_decimal::Decimal::from(n * 100)),
                max_count: n + 1,
                max_age_hours: 24,
                unknown_card: UnknownCard::Limit(m("1000000")),
            },
            forward_backoff: simple_backoff(ms(1), ms(10)),
            probe_backoff: simple_backoff(ms(1000), ms(1000)),
            fault: None,
        },
    )
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Bare SQLite: one row per BEGIN IMMEDIATE … COMMIT, WAL + FULL.
    let c = rusqlite::Connection::open(dir.path().join("bare.db")).expect("open");
    c.pragma_update(None, "journal_mode", "wal").expect("wal");
    c.pragma_update(None, "synchronous", "FULL").expect("full");
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        .expect("table");
    let mut bare = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        c.execute_batch("BEGIN IMMEDIATE").expect("begin");
        c.execute(
            "INSERT INTO t(a, b) VALUES (?1, ?2)",
            rusqlite::params![i.to_string(), "12.34"],
        )
        .expect("insert");
        c.execute_batch("COMMIT").expect("commit");
        bare.push(t.elapsed());
    }

    // 2. Offline gift-card approvals through the engine (link already down: no POS call).
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .expect("store");
    let e = engine(store, Arc::new(Down), n as u64);
    let line = |p: &str| LineInput {
        sku: "SKU".into(),
        quantity: m("1"),
        unit_price: m(p),
        uom: "EA".into(),
        item_discount: Money::ZERO,
        sale_discount: Money::ZERO,
    };
    let mut offline = Vec::with_capacity(n);
    for i in 0..n {
        let sid = format!("S{i}");
        e.open_sale(OpenSale {
            sale_id: Some(sid.clone()),
            lines: vec![line("10.00")],
            tax: None,
            member_id: None,
        })
        .await
        .expect("sale");
        let req = PaymentRequest {
            payment_id: Some(format!("P{i}")),
            method: Method::Giftcard,
            amount: m("10.00"),
            code: Some(SecretString::from(format!("GC{i:08}"))),
            pin: None,
            entry_mode: EntryMode::Scanned,
            terminal_mode: TerminalMode::Authorize,
        };
        let t = Instant::now();
        let a = e.add_payment(&sid, req).await.expect("payment");
        offline.push(t.elapsed());
        assert_eq!(a.status, PaymentStatus::OfflineApproved);
        e.complete_sale(&sid).await.expect("complete");
    }

    println!(
        "lane-agent store/engine benchmark, {n} iterations, files in {}",
        dir.path().display()
    );
    stats("bare SQLite insert+commit (WAL, FULL)", bare);
    stats("offline gift-card approval incl. commit", offline);

    // 3. Drain: the backlog built above (n redemptions + n purchases) plus purchases up to
    //    10,000 items, through an instant sink.
    let items = e.forwarder().list(None).await.expect("list").len();
    let extra = 10_000usize.saturating_sub(items);
    let pad = e.store().clone();
    pad.write(move |c, _| {
        for i in 0..extra {
            lane_agent::store::outbox::enqueue(
                c,
                &lane_agent::store::outbox::NewItem {
                    kind: lane_agent::store::OutboxKind::Purchase,
                    sale_id: None,
                    payment_id: None,
                    amount: None,
                    code_hash: None,
                    payload: serde_json::to_string(&PurchaseInput {
                        transaction_id: format!("PAD{i}"),
                        store_code: "BENCH".into(),
                        purchased_on: "2026-11-28T10:00:00".into(),
                        pay_amount: m("1").get(),
                        sale_discount_amount: rust_decimal::Decimal::ZERO,
                        item_discount_amount: rust_decimal::Decimal::ZERO,
                        sub_total: m("1").get(),
                        refund_amount: rust_decimal::Decimal::ZERO,
                        tax_amount: rust_decimal::Decimal::ZERO,
                        line_items: vec![],
                        channel: None,
                        member_id: None,
                        order_type: None,
                        pay_method: Some("CASH".into()),
                        customer_id: None,
                        email: None,
                    })
                    .expect("json"),
                },
            )?;
        }
        Ok(())
    })
    .await
    .expect("pad");
    // The store's lock goes with its last handle.
    drop((e, pad));
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .expect("reopen");
    let e = engine(store, Arc::new(Up), n as u64);
    let total = e
        .forwarder()
        .list(Some(lane_agent::store::OutboxState::New))
        .await
        .expect("list")
        .len();
    let t = Instant::now();
    let mut sent = 0usize;
    while let lane_agent::engine::forwarder::Step::Done(..) =
        e.forwarder().forward_once().await.expect("forward")
    {
        sent += 1;
    }
    let el = t.elapsed();
    println!(
        "forwarder drain, instant sink                 items={sent}/{total}  {:.1} items/s  ({:.3} ms/item, 2 commits each)",
        sent as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e3 / sent.max(1) as f64
    );
}

struct Up;

#[async_trait]
impl GiftcardHost for Up {
    async fn balance(&self, _: &CardSecret) -> Result<GiftcardBalance, HostError> {
        Ok(GiftcardBalance { balance: m("1000") })
    }
    async fn authorize_use(&self, r: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Ok(GiftcardTrans {
            id: r.ref_no.clone(),
            balance: None,
        })
    }
    async fn use_now(&self, r: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Ok(GiftcardTrans {
            id: r.ref_no.clone(),
            balance: None,
        })
    }
    async fn capture(&self, id: &str) -> Result<GiftcardTrans, HostError> {
        Ok(GiftcardTrans {
            id: id.into(),
            balance: None,
        })
    }
    async fn cancel(&self, id: &str) -> Result<GiftcardTrans, HostError> {
        Ok(GiftcardTrans {
            id: id.into(),
            balance: None,
        })
    }
    async fn create(&self, _: &CardSecret) -> Result<String, HostError> {
        Ok("C".into())
    }
    async fn add(&self, r: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        Ok(GiftcardTrans {
            id: r.ref_no.clone(),
            balance: None,
        })
    }
    async fn environment(&self) -> Result<(), HostError> {
        Ok(())
    }
}
