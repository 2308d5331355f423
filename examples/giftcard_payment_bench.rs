//! Benchmark: one ONLINE gift-card payment through the engine (`Engine::add_payment`, real
//! POS adapter, real SQLite journal) against the in-process POS stand-in, and the whole
//! open + pay + complete; next to the floor measured in the same run, interleaved with the
//! engine's iterations so both see the same machine: one bare `PosClient` gift-card
//! authorize round trip (and one bare balance lookup) to the same stand-in, and one bare
//! SQLite insert+commit (WAL, synchronous=FULL, BEGIN IMMEDIATE) on the same disk.
//!
//! An online gift-card payment is a balance lookup, the journaled intent, the `USE` hold
//! (authorize) and its journaled outcome, so its floor is about two POS round trips plus a
//! few commits.
//!
//! Run: `cargo run --release -p lane-agent --example giftcard_payment_bench [N]` (N = 300,
//! after a warm-up of N/10, at least 20). The files go to `$TMPDIR`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hardware_sim::pos::{CodeType as SeedCodeType, PosSim, Seed, SeedGiftcard, SeedGiftcardCode};
use lane_agent::agent::ZvtTerminal;
use lane_agent::engine::adapters::PosPorts;
use lane_agent::engine::{
    Engine, EngineConfig, OfflinePolicy, OpenSale, PaymentRequest, PaymentStatus, Ports,
    simple_backoff,
};
use lane_agent::store::payments::{EntryMode, Method, TerminalMode};
use lane_agent::store::sales::LineInput;
use lane_agent::store::{Money, Store, StoreOptions};
use pos_client::{CodeType, GiftCode, GiftcardTransRequest, PosClient, PosConfig, TransType};
use secrecy::SecretString;

/// The engine's card and the floor's card (separate, so the floor's holds never change
/// what the engine sees). Large balances: every iteration holds and captures 10.00.
const ENGINE_CARD: &str = "6006499000000001";
const FLOOR_CARD: &str = "6006499000000002";

fn m(s: &str) -> Money {
    s.parse().expect("decimal")
}

fn card(id: &str, code: &str) -> SeedGiftcard {
    SeedGiftcard {
        id: id.into(),
        member_id: None,
        balance: "10000000.00".parse().expect("decimal"),
        codes: vec![SeedGiftcardCode {
            code_type: SeedCodeType::Physical,
            code: code.into(),
            pin: None,
            expires_on: None,
        }],
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

fn stats(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let n = d.len();
    let pct = |p: f64| d[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<46} n={n:<5} p50={:>7.3} ms  p90={:>7.3} ms  p99={:>7.3} ms  max={:>7.3} ms",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(d[n - 1])
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    // On a runtime worker, as the agent's request handlers are: `main`'s own future runs on
    // the main thread outside the worker pool, where task wake-ups cost differently.
    tokio::spawn(bench(n)).await.expect("bench task");
}

async fn bench(n: usize) {
    let warm = (n / 10).max(20);
    let mut seed = Seed::example();
    seed.giftcards.push(card("9001", ENGINE_CARD));
    seed.giftcards.push(card("9002", FLOOR_CARD));
    let sim = PosSim::start("127.0.0.1:0".parse().expect("addr"), seed)
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");

    // The bare commit, with the store's durability settings.
    let bare_db = rusqlite::Connection::open(dir.path().join("bare.db")).expect("open");
    bare_db
        .pragma_update(None, "journal_mode", "wal")
        .expect("wal");
    bare_db
        .pragma_update(None, "synchronous", "FULL")
        .expect("full");
    bare_db
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        .expect("table");

    // The bare POS client: its own connection pool and token, same stand-in.
    let bare_pos = client(&sim);

    // The engine as the agent assembles it: the POS adapter for gift cards and purchases;
    // the real ZVT terminal adapter (never called by a gift-card payment, so it points
    // nowhere and connects to nothing).
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .expect("store");
    let ports = PosPorts::new(client(&sim), Some(CodeType::Physical));
    let terminal =
        ZvtTerminal::new(zvt::transport::TransportConfig::tcp("127.0.0.1:9"), None).expect("zvt");
    let ms = Duration::from_millis;
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(ports.clone()),
            purchases: Arc::new(ports),
            terminal: Arc::new(terminal),
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

    let line = LineInput {
        sku: "ITEM-001".into(),
        quantity: m("1"),
        unit_price: m("10.00"),
        uom: "EA".into(),
        item_discount: Money::ZERO,
        sale_discount: Money::ZERO,
    };
    let (mut pay, mut sale, mut pos_auth, mut pos_lookup, mut commit) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..warm + n {
        // 1. The engine: open, pay online by gift card, complete (captures the hold).
        let sid = format!("S{i}");
        let t0 = Instant::now();
        engine
            .open_sale(OpenSale {
                sale_id: Some(sid.clone()),
                lines: vec![line.clone()],
                tax: None,
                member_id: None,
            })
            .await
            .expect("open");
        let req = PaymentRequest {
            payment_id: Some(format!("P{i}")),
            method: Method::Giftcard,
            amount: m("10.00"),
            code: Some(SecretString::from(ENGINE_CARD.to_owned())),
            pin: None,
            entry_mode: EntryMode::Scanned,
            terminal_mode: TerminalMode::Authorize,
        };
        let t1 = Instant::now();
        let a = engine.add_payment(&sid, req).await.expect("payment");
        let t2 = Instant::now();
        assert_eq!(
            a.status,
            PaymentStatus::Approved,
            "online approval expected"
        );
        engine.complete_sale(&sid).await.expect("complete");
        let t3 = Instant::now();

        // 2. The floor: one bare authorize (hold) round trip, one bare balance lookup.
        let t = Instant::now();
        let hold = bare_pos
            .giftcard_trans_add(&GiftcardTransRequest {
                code_type: Some(CodeType::Physical),
                code: GiftCode::new(FLOOR_CARD),
                pin: None,
                trans_type: TransType::Use,
                amount: "-10.00".parse().expect("decimal"),
                source_id: Some("BENCH".into()),
                ref_no: Some(format!("FLOOR-{i}")),
                authorize: true,
            })
            .await
            .expect("bare authorize");
        let auth_el = t.elapsed();
        let t = Instant::now();
        bare_pos
            .giftcard_by_code(FLOOR_CARD, Some(CodeType::Physical))
            .await
            .expect("bare lookup")
            .expect("floor card known");
        let lookup_el = t.elapsed();
        // Not timed: release the hold.
        bare_pos
            .giftcard_trans_capture(&hold.id, true)
            .await
            .expect("cancel hold");

        // 3. The floor: one bare durable commit on the same disk.
        let t = Instant::now();
        bare_db.execute_batch("BEGIN IMMEDIATE").expect("begin");
        bare_db
            .execute(
                "INSERT INTO t(a, b) VALUES (?1, ?2)",
                rusqlite::params![i.to_string(), "10.00"],
            )
            .expect("insert");
        bare_db.execute_batch("COMMIT").expect("commit");
        let commit_el = t.elapsed();

        if i >= warm {
            pay.push(t2 - t1);
            sale.push(t3 - t0);
            pos_auth.push(auth_el);
            pos_lookup.push(lookup_el);
            commit.push(commit_el);
        }
    }

    println!(
        "online gift-card payment benchmark against hardware-sim pos, {n} iterations after {warm} warm-up, files in {}",
        dir.path().display()
    );
    stats("engine: add_payment (gift card, online)", pay);
    stats("engine: open + pay + complete", sale);
    stats("floor: bare PosClient gift-card authorize", pos_auth);
    stats("floor: bare PosClient gift-card lookup", pos_lookup);
    stats("floor: bare SQLite insert+commit (WAL, FULL)", commit);
}
