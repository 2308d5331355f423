//! The cashier screens reach a real (simulated) ZVT terminal over TCP: the gift-card amount,
//! the approval with balance and what is still due, and a decline in plain words, each shown
//! through `cashier::show` (display text, 06 E0) without the caller waiting on it.

use std::sync::Arc;
use std::time::Duration;

use hardware_sim::terminal::{SimEvent, SimTerminal, SimTerminalConfig};
use lane_agent::agent::ZvtTerminal;
use lane_agent::agent::cashier;
use lane_agent::engine::{PaymentAnswer, PaymentStatus};
use lane_agent::store::Money;
use rust_decimal::dec;
use tokio::sync::broadcast;
use zvt::transport::TransportConfig;

const WAIT: Duration = Duration::from_secs(20);

/// Waits for the terminal to display exactly `lines`.
async fn shown(events: &mut broadcast::Receiver<SimEvent>, lines: &[&str]) {
    let want: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(SimEvent::Display(got)) if got == want => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("terminal stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("terminal never displayed {want:?}"));
}

fn answer(status: PaymentStatus, reason: Option<&str>) -> PaymentAnswer {
    PaymentAnswer {
        payment_id: "pay-1".into(),
        status,
        approved_amount: Money::from(if reason.is_some() { dec!(0) } else { dec!(12) }),
        balance: reason.is_none().then(|| Money::from(dec!(0))),
        reason: reason.map(str::to_owned),
        due: Money::from(dec!(18)),
    }
}

#[tokio::test]
async fn gift_card_screens_appear_on_the_terminal() {
    let sim = SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
        .await
        .unwrap();
    let control = sim.control();
    let mut events = control.subscribe();
    let config = TransportConfig::tcp(sim.addr().unwrap().to_string());
    let terminal = Arc::new(ZvtTerminal::new(config, None).unwrap());

    cashier::show(
        Arc::clone(&terminal),
        cashier::processing(Money::from(dec!(12)), Some("GC-7000-1111-2222-4321")),
    );
    shown(&mut events, &["Gift card ****4321", "Amount 12.00"]).await;

    cashier::show(
        Arc::clone(&terminal),
        cashier::result(&answer(PaymentStatus::Approved, None)),
    );
    shown(
        &mut events,
        &["Approved 12.00", "Balance 0.00", "Still due 18.00"],
    )
    .await;

    cashier::show(
        Arc::clone(&terminal),
        cashier::result(&answer(PaymentStatus::Declined, Some("code_expired"))),
    );
    shown(&mut events, &["Declined", "Card expired"]).await;

    // The full code never reached the terminal.
    assert!(
        control
            .displays()
            .iter()
            .flatten()
            .all(|l| !l.contains("7000") && !l.contains("2222")),
        "{:?}",
        control.displays()
    );
    sim.stop();
}

/// A cash sale through the running agent: open, pay, complete (which queues its purchase).
async fn cash_sale(api: &crate::support::agent::Api, id: &str) {
    let (st, v) = api
        .post(
            "/v1/sales",
            serde_json::json!({"sale_id": id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "3.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = api
        .post(
            &format!("/v1/sales/{id}/payments"),
            serde_json::json!({"method": "cash", "amount": "3.00"}),
        )
        .await;
    assert!(st < 300 && v["status"] == "approved", "{st} {v}");
    let (st, v) = api
        .post(&format!("/v1/sales/{id}/complete"), serde_json::json!({}))
        .await;
    assert!(st < 300, "{st} {v}");
}

/// The lane's link state on the terminal, as `lane-agent run` keeps it: "OFFLINE" with what
/// waits to be sent once a purchase cannot reach the POS, the count as it grows, "ONLINE" when
/// the backlog goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_shows_the_lane_offline_with_what_waits_and_online_when_back() {
    use crate::support::agent::stop_gracefully;
    use crate::support::lane::TestLane;
    use crate::support::sse::event_where;

    let lane = TestLane::zvt().request_timeout_ms(2000).build().await;
    let mut screens = lane.terminal().control().subscribe();
    let (child, notify) = lane.start().await;
    lane.pos.control().set_online(false).await;

    // The forwarder finds the POS gone with the first purchase.
    cash_sale(&lane.api, "DISP-1").await;
    shown(&mut screens, &["OFFLINE", "1 to send"]).await;
    cash_sale(&lane.api, "DISP-2").await;
    shown(&mut screens, &["OFFLINE", "2 to send"]).await;

    let api = &lane.api;
    let mut events = api
        .http
        .get(format!("{}/v1/events", api.base))
        .bearer_auth(api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut buf = String::new();
    lane.pos.control().set_online(true).await;
    let (st, v) = api.post("/v1/outbox/flush", serde_json::json!({})).await;
    assert!(st < 300, "{st} {v}");
    shown(&mut screens, &["ONLINE"]).await;
    for _ in 0..2 {
        event_where(&mut events, &mut buf, "outbox", |d| {
            d["kind"] == "purchase" && d["state"] == "confirmed"
        })
        .await;
    }
    let purchases = lane.pos.control().ledger().purchases.len();
    assert_eq!(purchases, 2, "both purchases recorded once");
    stop_gracefully(child, notify).await;
}
