//! `lane-agent run` as a process against the POS stand-in and a simulated ZVT terminal over
//! TCP (both in this test): READY on a notify socket the test owns, a gift-card + card sale
//! through the HTTP API recorded exactly once in the stand-in's ledger, then SIGTERM while a
//! payment waits on the terminal: STOPPING=1, exit 0, and the payment's journal row settled.

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::agent::{Api, WAIT, expect_async};
use crate::support::lane::TestLane;
use hardware_sim::terminal::{Fault, SimEvent};
use lane_agent::store::{PaymentState, Store, StoreOptions, payments};
use serde_json::{Value, json};

const TOKEN: &str = "run-sale-token-0123456789";

/// `lane-agent run` with a 2 s watchdog and its log on a pipe.
fn spawn(lane: &TestLane) -> Child {
    lane.run_command()
        .env("WATCHDOG_USEC", "2000000")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait_exit(child: Child) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        WAIT,
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await
    .expect("lane-agent did not exit in time")
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sale_through_the_running_agent_then_graceful_stop_mid_payment() {
    let lane = TestLane::zvt()
        .token(TOKEN)
        .any_port()
        .terminal_lines("t3_ms = 1500\nt4_ms = 5000\n")
        .build()
        .await;
    let (dir, terminal) = (lane.dir.path(), lane.terminal());
    let notify = Arc::new(UnixDatagram::bind(lane.notify_path()).unwrap());

    let child = spawn(&lane);
    let ready = expect_async(&notify, "READY=1").await;
    let addr = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS=Serving on "))
        .and_then(|a| a.strip_suffix('.'))
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
        .to_owned();
    let api = Api::new(&addr, TOKEN);

    // A gift-card + card sale.
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "run-1", "lines": [{"sku": "ITEM-001", "quantity": "2", "unit_price": "15.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["total"], "30.00");
    let (_, v) = api
        .post(
            "/v1/sales/run-1/payments",
            json!({"method": "giftcard", "amount": "20.00", "code": "6006491000000001", "payment_id": "run-1-g"}),
        )
        .await;
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["due"], "10.00", "{v}");
    let (_, v) = api
        .post(
            "/v1/sales/run-1/payments",
            json!({"method": "card", "amount": "10.00", "payment_id": "run-1-c"}),
        )
        .await;
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["due"], "0.00", "{v}");
    let (st, v) = api.post("/v1/sales/run-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["state"], "completed", "{v}");
    let sale = api.get("/v1/sales/run-1").await;
    let tid = sale["transaction_id"].as_str().unwrap().to_owned();
    let card = sale["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["method"] == "card")
        .unwrap();
    assert!(
        card["masked_pan"].as_str().unwrap().starts_with("****"),
        "{card}"
    );
    assert!(card["receipt_no"].is_u64(), "{card}");
    assert_eq!(terminal.control().approved_payments(), 1);

    // The forwarder records the purchase: wait on the ledger, bounded.
    let deadline = Instant::now() + WAIT;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        let n = lane.pos.control().ledger().purchases_with(&tid).len();
        if n >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "purchase {tid} never reached the ledger"
        );
        ticks.tick().await;
    }
    let ledger = lane.pos.control().ledger();
    assert_eq!(ledger.purchases_with(&tid).len(), 1);
    assert_eq!(ledger.purchases.len(), 1);
    assert_eq!(ledger.balance("1001").unwrap().to_string(), "30.00");

    // The cashier saw the gift-card tender on the terminal's display, masked to the last 4
    // (shown best effort beside the payment, so wait for it, bounded).
    let deadline = Instant::now() + WAIT;
    let want = [
        vec!["Gift card ****0001".to_owned(), "Amount 20.00".to_owned()],
        vec![
            "Approved 20.00".to_owned(),
            "Balance 30.00".to_owned(),
            "Still due 10.00".to_owned(),
        ],
    ];
    loop {
        let shown = terminal.control().displays();
        if want.iter().all(|w| shown.contains(w)) {
            assert!(
                shown
                    .iter()
                    .flatten()
                    .all(|l| !l.contains("6006491000000001")),
                "{shown:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the terminal never showed the gift-card screens: {shown:?}"
        );
        ticks.tick().await;
    }

    // SIGTERM while a card payment waits on a terminal that does not answer.
    let (st, _) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "run-2", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "7.00"}]}),
        )
        .await;
    assert_eq!(st, 201);
    let mut sim_events = terminal.control().subscribe();
    terminal.control().inject(Fault::Silence);
    let pay = tokio::spawn({
        let api = Api {
            http: api.http.clone(),
            base: api.base.clone(),
            token: TOKEN,
        };
        async move {
            api.post(
                "/v1/sales/run-2/payments",
                json!({"method": "card", "amount": "7.00", "payment_id": "run-2-c"}),
            )
            .await
        }
    });
    // The authorization (06 01) has reached the terminal.
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(SimEvent::Command([0x06, 0x01])) = sim_events.recv().await {
                break;
            }
        }
    })
    .await
    .expect("the payment never reached the terminal");
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    expect_async(&notify, "STOPPING=1").await;
    let (code, stderr) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{stderr}");
    // The payment in flight was finished, not cut off: the register got an answer.
    let (st, answer) = tokio::time::timeout(WAIT, pay).await.unwrap().unwrap();
    assert!(st < 600 && answer != Value::Null, "{st} {answer}");
    assert_ne!(answer["status"], "approved", "{answer}");
    assert!(
        !stderr.contains("6006491000000001"),
        "code leaked: {stderr}"
    );

    // The journal keeps the payment, settled (never shown approved, never lost).
    let store = Store::open(StoreOptions::new(dir.join("agent.db")))
        .await
        .unwrap();
    let p = store
        .read(|c, _| payments::get(c, "run-2-c"))
        .await
        .unwrap();
    assert!(
        matches!(p.state, PaymentState::Declined | PaymentState::InDoubt),
        "{:?}",
        p.state
    );
    // Nothing was charged twice at the terminal.
    assert_eq!(terminal.control().approved_payments(), 1);
}
