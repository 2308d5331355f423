//! Card reservations through the running agent against a simulated ZVT terminal over TCP:
//! `"reserve": true` reserves at payment (06 22) and books the total at completion (06 24),
//! never a plain authorization (06 01); a cancelled sale releases its reservation (06 25) and
//! books nothing; `reserve` with a gift card is a 422 that changes nothing.

use crate::support::agent::{Api, stop_gracefully};
use crate::support::lane::TestLane;
use hardware_sim::terminal::{SimTerminal, TxKind};
use rust_decimal::Decimal;
use serde_json::json;

const TOKEN: &str = "card-reservation-token-0123456789";

fn kinds(terminal: &SimTerminal) -> Vec<TxKind> {
    terminal
        .control()
        .journal()
        .iter()
        .map(|e| e.kind)
        .collect()
}

async fn open(api: &Api, sale_id: &str, price: &str) {
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": sale_id, "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": price}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_then_book_at_completion_and_release_on_cancel() {
    let l = TestLane::zvt().token(TOKEN).build().await;
    let (terminal, api) = (l.terminal(), &l.api);
    let (child, notify) = l.start().await;

    // Reserve, then complete: the reservation is booked for the sale's total.
    open(api, "res-1", "12.50").await;
    let (st, v) = api
        .post(
            "/v1/sales/res-1/payments",
            json!({"method": "card", "amount": "12.50", "reserve": true, "payment_id": "res-1-c"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["due"], "0.00", "{v}");
    assert_eq!(kinds(terminal), vec![TxKind::Reservation]);
    let (st, v) = api.post("/v1/sales/res-1/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["state"], "completed", "{v}");
    let journal = terminal.control().journal();
    assert_eq!(
        journal.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![TxKind::Reservation, TxKind::BookTotal],
        "{journal:?}"
    );
    let (reservation, booking) = (&journal[0], &journal[1]);
    assert!(reservation.approved() && booking.approved(), "{journal:?}");
    assert_eq!(booking.refers_to, Some(reservation.receipt));
    assert_eq!(booking.amount, Decimal::new(1250, 2));
    assert_eq!(terminal.control().approved_payments(), 0);

    // Reserve, then cancel: the reservation is released and nothing is booked.
    open(api, "res-2", "8.00").await;
    let (st, v) = api
        .post(
            "/v1/sales/res-2/payments",
            json!({"method": "card", "amount": "8.00", "reserve": true, "payment_id": "res-2-c"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "approved", "{v}");
    let (st, v) = api.post("/v1/sales/res-2/cancel", json!({})).await;
    assert_eq!(st, 200, "{v}");
    let journal = terminal.control().journal();
    assert_eq!(
        journal.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![
            TxKind::Reservation,
            TxKind::BookTotal,
            TxKind::Reservation,
            TxKind::PreAuthReversal
        ],
        "{journal:?}"
    );
    assert!(journal[3].approved(), "{journal:?}");
    assert_eq!(journal[3].refers_to, Some(journal[2].receipt));
    assert!(journal[2].closed, "{journal:?}");
    assert_eq!(terminal.control().approved_payments(), 0);

    // `reserve` is for cards only: a gift card with it is refused and nothing moves.
    open(api, "res-3", "5.00").await;
    let (st, v) = api
        .post(
            "/v1/sales/res-3/payments",
            json!({"method": "giftcard", "amount": "5.00", "code": "6006491000000001", "reserve": true}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["error"]["code"], "reserve_not_card", "{v}");
    let sale = api.get("/v1/sales/res-3").await;
    assert_eq!(sale["due"], "5.00", "{sale}");
    assert_eq!(sale["payments"].as_array().map(Vec::len), Some(0), "{sale}");
    assert_eq!(terminal.control().journal().len(), 4);

    stop_gracefully(child, notify).await;
}
