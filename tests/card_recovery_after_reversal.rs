//! Found by the crash harness (issue 10): after a restart, the trace number a card payment
//! journals as its recovery evidence ("the terminal's last transaction before ours") must
//! count a reversal the agent made, or a payment lost with the agent is matched against that
//! reversal. Through the real binary against `hardware-sim pos` and `hardware-sim terminal`
//! over real TCP:
//!
//! a card payment of 10.00 is reversed (06 30), the agent restarts, a new card payment of
//! 10.00 dies with the agent before the terminal ran it. The terminal's last transaction is
//! the reversal, of the same amount: the new payment must come back "not executed" (its
//! journaled trace is the reversal's), never approved (the customer paid nothing).

mod agent_support;

use std::time::Duration;

use agent_support::{Api, Lane, OFFLINE_ENABLED, free_port, start_quiet, stop_gracefully};
use hardware_sim::pos::{PosSim, Seed};
use hardware_sim::terminal::{SimTerminal, SimTerminalConfig, TxKind};
use serde_json::{Value, json};

const TOKEN: &str = "card-recovery-token-0123456789";

async fn open(api: &Api, sale_id: &str, price: &str) {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": sale_id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": price}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

/// Waits (bounded) until `payment_id` leaves `pending`; returns its state.
async fn settled_state(api: &Api, sale_id: &str, payment_id: &str, from: &str) -> Value {
    let deadline = tokio::time::Instant::now() + agent_support::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        let sale = api.get(&format!("/v1/sales/{sale_id}")).await;
        let state = sale["payments"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["payment_id"] == payment_id))
            .map(|p| p["state"].clone())
            .unwrap_or(Value::Null);
        if state.is_string() && state != from {
            return sale;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payment {payment_id} stayed {from}: {sale}"
        );
        tick.tick().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_lost_after_a_restart_is_not_matched_to_a_reversal_of_the_same_amount() {
    let dir = tempfile::tempdir().unwrap();
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let terminal =
        SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
            .await
            .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let config = agent_support::config(
        dir.path(),
        &pos,
        &Lane {
            token: TOKEN,
            listen: addr.clone(),
            request_timeout_ms: 3000,
            terminal: terminal.addr().unwrap().to_string(),
            terminal_extra: "",
            offline: OFFLINE_ENABLED,
        },
    );
    let api = Api::new(&addr, TOKEN);

    // A card payment, then the customer changes their mind: 06 01 then 06 30.
    let (child, notify) = start_quiet(&config, dir.path()).await;
    open(&api, "rev-a", "10.00").await;
    let (st, v) = api
        .post(
            "/v1/sales/rev-a/payments",
            json!({"method": "card", "amount": "10.00", "payment_id": "rev-a-c"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = api.post("/v1/sales/rev-a/cancel", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    stop_gracefully(child, notify).await;

    // After a restart, the next card payment of the same amount dies with the agent while
    // the customer has no card out: the terminal never runs it.
    std::fs::remove_file(dir.path().join("notify.sock")).unwrap();
    let (mut child, _notify) = start_quiet(&config, dir.path()).await;
    open(&api, "rev-b", "10.00").await;
    terminal.control().hold_card();
    let paying = {
        let api = Api::new(&addr, TOKEN);
        tokio::spawn(async move {
            let _ = api
                .http
                .post(format!("{}/v1/sales/rev-b/payments", api.base))
                .bearer_auth(api.token)
                .json(&json!({"method": "card", "amount": "10.00", "payment_id": "rev-b-c"}))
                .send()
                .await;
        })
    };
    let sale = settled_state(&api, "rev-b", "rev-b-c", "none").await;
    assert_eq!(sale["payments"][0]["state"], "pending", "{sale}");
    child.kill().unwrap();
    child.wait().unwrap();
    paying.await.unwrap();

    std::fs::remove_file(dir.path().join("notify.sock")).unwrap();
    let (child, notify) = start_quiet(&config, dir.path()).await;
    let sale = settled_state(&api, "rev-b", "rev-b-c", "pending").await;
    terminal.control().present_card();
    let kinds: Vec<TxKind> = terminal
        .control()
        .journal()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![TxKind::Payment, TxKind::Reversal],
        "the second payment never ran"
    );
    // Positive evidence (the terminal's last transaction is the one journaled before ours):
    // declined, the amount still due. Approved would be a sale paid with money never taken.
    assert_eq!(sale["payments"][0]["state"], "declined", "{sale}");
    assert_eq!(sale["due"], "10.00", "{sale}");
    stop_gracefully(child, notify).await;
}
