//! Benchmark: the agent's own overhead for one card payment on a POS-driven processor
//! terminal (`terminal.protocol = "pos"`): open + pay + complete through the engine (real
//! POS adapter, real SQLite journal) against the in-process POS stand-in, next to the POS
//! round trips that payment makes, measured in the same run on their own: one bare
//! `terminalPayment.start` (the simulated cardholder answers at once, so `start` returns
//! the payment) and one bare `terminalPayment.capture`. The overhead per iteration is the
//! engine's time minus that iteration's two bare round trips. That overhead holds the
//! journal's durable commits (open, intent, outcome, capturing, captured, completion with
//! its purchase item: six WAL+FULL commits), so one bare commit on the same disk is
//! measured as well.
//!
//! Run: `cargo run --release -p lane-agent --example pos_terminal_bench [N]` (N = 300,
//! after a warm-up of N/10, at least 20). The files go to `$TMPDIR`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hardware_sim::pos::{PosSim, Seed, SeedTerminal};
use lane_agent::engine::adapters::{NoZvtTerminal, PosPorts};
use lane_agent::engine::pos_terminal::PosTerminalLane;
use lane_agent::engine::{
    Engine, EngineConfig, OfflinePolicy, OpenSale, PaymentRequest, PaymentStatus, Ports,
    simple_backoff,
};
use lane_agent::store::payments::{EntryMode, Method, TerminalMode};
use lane_agent::store::sales::LineInput;
use lane_agent::store::{Money, Store, StoreOptions};
use pos_client::{
    CodeType, PosClient, PosConfig, TerminalPaymentOutcome, TerminalPaymentStartRequest,
    TerminalPaymentType,
};
use secrecy::SecretString;

const ENGINE_TERMINAL: &str = "BENCH-T-1";
const FLOOR_TERMINAL: &str = "BENCH-T-2";

fn m(s: &str) -> Money {
    s.parse().expect("decimal")
}

fn terminal(id: &str) -> SeedTerminal {
    SeedTerminal {
        id: id.into(),
        store_code: "DALLAS".into(),
        lane: None,
        card_delay_ms: 0,
        poll_ms: 0,
        token_ttl_secs: 600,
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

fn p50(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len().div_ceil(2) - 1]
}

fn stats(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let n = d.len();
    let pct = |p: f64| d[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<52} n={n:<5} p50={:>7.3} ms  p90={:>7.3} ms  p99={:>7.3} ms  max={:>7.3} ms",
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
    // On a runtime worker, as the agent's request handlers are.
    tokio::spawn(bench(n)).await.expect("bench task");
}

async fn bench(n: usize) {
    let warm = (n / 10).max(20);
    let mut seed = Seed::example();
    seed.terminals.push(terminal(ENGINE_TERMINAL));
    seed.terminals.push(terminal(FLOOR_TERMINAL));
    let sim = PosSim::start("127.0.0.1:0".parse().expect("addr"), seed)
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let bare_pos = client(&sim);
    // The bare commit, with the store's durability settings (the journal commits each step).
    let bare_db = rusqlite::Connection::open(dir.path().join("bare.db")).expect("open");
    bare_db
        .pragma_update(None, "journal_mode", "wal")
        .expect("wal");
    bare_db
        .pragma_update(None, "synchronous", "FULL")
        .expect("full");
    bare_db
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
        .expect("table");

    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .expect("store");
    let ports = PosPorts::new(client(&sim), Some(CodeType::Physical));
    let ms = Duration::from_millis;
    let engine = Engine::new(
        store,
        Ports {
            giftcards: Arc::new(ports.clone()),
            purchases: Arc::new(ports.clone()),
            terminal: Arc::new(NoZvtTerminal),
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
    engine.set_pos_terminal(PosTerminalLane {
        host: Arc::new(ports),
        terminal_id: ENGINE_TERMINAL.into(),
    });

    let line = LineInput {
        sku: "ITEM-001".into(),
        quantity: m("1"),
        unit_price: m("10.00"),
        uom: "EA".into(),
        item_discount: Money::ZERO,
        sale_discount: Money::ZERO,
    };
    let mut commit = Vec::with_capacity(n);
    let (mut pay, mut sale, mut start, mut capture, mut overhead) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..warm + n {
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
            method: Method::Card,
            amount: m("10.00"),
            code: None,
            pin: None,
            entry_mode: EntryMode::Keyed,
            terminal_mode: TerminalMode::Authorize,
        };
        let t1 = Instant::now();
        let a = engine.add_payment(&sid, req).await.expect("payment");
        let t2 = Instant::now();
        assert_eq!(
            a.status,
            PaymentStatus::Approved,
            "approval expected: {a:?}"
        );
        engine.complete_sale(&sid).await.expect("complete");
        let t3 = Instant::now();

        // The floor: the same two POS round trips, bare.
        let t = Instant::now();
        let out = bare_pos
            .terminal_payment_start(&TerminalPaymentStartRequest {
                terminal_id: FLOOR_TERMINAL.into(),
                store_code: "DALLAS".into(),
                trans_type: TerminalPaymentType::Authorize,
                amount: "10.00".parse().expect("decimal"),
                ref_no: format!("FLOOR-{i}"),
                transaction_id: None,
                original_id: None,
            })
            .await
            .expect("bare start");
        let start_el = t.elapsed();
        let TerminalPaymentOutcome::Payment(p) = out else {
            panic!("the floor terminal answers at once: {out:?}")
        };
        let t = Instant::now();
        bare_pos
            .terminal_payment_capture(&p.id, None)
            .await
            .expect("bare capture");
        let capture_el = t.elapsed();

        let t = Instant::now();
        bare_db.execute_batch("BEGIN IMMEDIATE").expect("begin");
        bare_db
            .execute("INSERT INTO t(a) VALUES (?1)", [i.to_string()])
            .expect("insert");
        bare_db.execute_batch("COMMIT").expect("commit");
        let commit_el = t.elapsed();

        if i >= warm {
            commit.push(commit_el);
            pay.push(t2 - t1);
            sale.push(t3 - t0);
            start.push(start_el);
            capture.push(capture_el);
            overhead.push((t3 - t0).saturating_sub(start_el + capture_el));
        }
    }
    println!(
        "POS-terminal card payment benchmark against hardware-sim pos, {n} iterations after {warm} warm-up, files in {}",
        dir.path().display()
    );
    let over = p50(overhead.clone());
    stats("engine: add_payment (card via POS terminal)", pay);
    stats("engine: open + pay + complete", sale);
    stats("floor: bare terminalPayment.start", start);
    stats("floor: bare terminalPayment.capture", capture);
    stats("overhead: open+pay+complete - start - capture", overhead);
    stats("floor: bare SQLite insert+commit (WAL, FULL)", commit);
    println!(
        "agent overhead p50 {:.3} ms (goal <= 2 ms)",
        over.as_secs_f64() * 1e3
    );
}
