//! Returns, refunds and receipts (issue 12) through the real binary against
//! `hardware-sim pos` and `hardware-sim terminal` over real TCP:
//!
//! - a return paid back in cash: negative total and due, `complete` refused until the
//!   customer is paid, the same `refund_id` → the first answer, another body → 409, and the
//!   purchase in the ledger once with its `isRefund` line and `refundAmount`;
//! - a return to a gift card: one ADD in the ledger (also when the refund is retried), the
//!   balance in the answer, and a cancel that takes it back with a matching USE;
//! - an exchange that nets out below zero and one above it; limits (what is owed, what the
//!   original sale took on that tender);
//! - a return while the POS is down: cash allowed, card refused at once (`link_offline`),
//!   gift card queued within the caps and forwarded once when the link is back;
//! - a card refund on a terminal without a refund answers `declined`;
//! - a register that hangs up on a slow ADD does not lose the refund (the retry gets it, one
//!   ADD); an ADD whose answer is lost is `in_doubt` with an exception, counted as paid back
//!   (never paid twice) and blocks the cancel;
//! - a receipt of a split-tender sale: every tender masked to the last 4, no full code.

use std::time::Duration;

use crate::support::agent::{Api, stop_gracefully};
use crate::support::lane::TestLane;
use hardware_sim::pos::{Fault, FaultKind, FaultTarget, PosSim, TransType};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const TOKEN: &str = "returns-refunds-token-0123456789";
const CARD: &str = "6006491000000001";

/// The lane of these tests: a simulated ZVT terminal and the POS stand-in, POS calls bounded
/// at 2 s.
async fn lane() -> TestLane {
    TestLane::zvt()
        .token(TOKEN)
        .request_timeout_ms(2000)
        .build()
        .await
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn dec_of(v: &Value) -> Decimal {
    v.as_str()
        .map(d)
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}

async fn open(api: &Api, body: Value) -> Value {
    let (st, v) = api.post("/v1/sales", body).await;
    assert_eq!(st, 201, "{v}");
    v
}

async fn refund(api: &Api, sale: &str, body: Value) -> (u16, Value) {
    api.post(&format!("/v1/sales/{sale}/refunds"), body).await
}

/// Waits (bounded) until the ledger satisfies `ok`; returns it.
async fn ledger_until(
    pos: &PosSim,
    what: &str,
    ok: impl Fn(&hardware_sim::pos::Ledger) -> bool,
) -> hardware_sim::pos::Ledger {
    let deadline = tokio::time::Instant::now() + crate::support::agent::WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    loop {
        let l = pos.control().ledger();
        if ok(&l) {
            return l;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ledger never showed {what}: {:?}",
            l.purchases
        );
        tick.tick().await;
    }
}

fn adds(l: &hardware_sim::pos::Ledger) -> Vec<&hardware_sim::pos::GiftcardTransRecord> {
    l.giftcard_transactions
        .iter()
        .filter(|t| t.trans_type == TransType::Add)
        .collect()
}

/// No file the agent wrote in `dir` (database, WAL, config) holds the full gift-card code:
/// the journal keeps it sealed, masked and as a keyed hash only.
fn assert_no_full_code(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(CARD.len()).any(|w| w == CARD.as_bytes()),
            "the full code is in {}",
            path.display()
        );
    }
}

/// The purchase of a sale in the ledger, once forwarded (exactly one).
async fn purchase_of(pos: &PosSim, api: &Api, sale: &str) -> Value {
    let tid = api.get(&format!("/v1/sales/{sale}")).await["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = ledger_until(pos, "the purchase", |l| {
        l.purchases.iter().any(|p| p.transaction_id == tid)
    })
    .await;
    let found: Vec<_> = l
        .purchases
        .iter()
        .filter(|p| p.transaction_id == tid)
        .collect();
    assert_eq!(found.len(), 1, "one purchase per sale: {found:?}");
    found[0].input.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_to_cash_is_paid_once_and_recorded_with_its_refund() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    let v = open(
        &l.api,
        json!({"sale_id": "ret-cash", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "9.99", "refund": true}],
            "tax": "-0.80"}),
    )
    .await;
    assert_eq!(
        (dec_of(&v["total"]), dec_of(&v["due"])),
        (d("-10.79"), d("-10.79")),
        "{v}"
    );

    // Owed to the customer: complete waits for the refund.
    let (st, v) = l.api.post("/v1/sales/ret-cash/complete", json!({})).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("amount_due")),
        "{v}"
    );
    // A payment makes no sense on it, nor a refund above what is owed.
    let (st, v) = l
        .api
        .post(
            "/v1/sales/ret-cash/payments",
            json!({"method": "cash", "amount": "1.00"}),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    let (st, v) = refund(
        &l.api,
        "ret-cash",
        json!({"method": "cash", "amount": "10.80"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );

    let body = json!({"method": "cash", "amount": "10.79", "refund_id": "ret-cash-r1"});
    let (st, first) = refund(&l.api, "ret-cash", body.clone()).await;
    assert_eq!(st, 201, "{first}");
    assert_eq!(first["status"], "approved", "{first}");
    assert_eq!(dec_of(&first["due"]), Decimal::ZERO, "{first}");
    let (st, again) = refund(&l.api, "ret-cash", body).await;
    assert_eq!(
        (st, &again),
        (201, &first),
        "the same refund_id: the first answer"
    );
    let (st, v) = refund(
        &l.api,
        "ret-cash",
        json!({"method": "cash", "amount": "1.00", "refund_id": "ret-cash-r1"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("idempotency_conflict")),
        "{v}"
    );

    let sale = l.api.get("/v1/sales/ret-cash").await;
    assert_eq!(sale["refunds"][0]["refund_id"], "ret-cash-r1", "{sale}");
    assert_eq!(sale["refunds"][0]["state"], "approved", "{sale}");
    assert_eq!(dec_of(&sale["lines"][0]["quantity"]), d("-1"), "{sale}");
    let (st, v) = l.api.post("/v1/sales/ret-cash/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    let p = purchase_of(&l.pos, &l.api, "ret-cash").await;
    assert_eq!(p["lineItems"][0]["isRefund"], true, "{p}");
    assert_eq!(dec_of(&p["lineItems"][0]["quantity"]), d("1"), "{p}");
    assert_eq!(dec_of(&p["lineItems"][0]["extPrice"]), d("-9.99"), "{p}");
    assert_eq!(dec_of(&p["refundAmount"]), d("10.79"), "{p}");
    assert_eq!(dec_of(&p["payAmount"]), Decimal::ZERO, "{p}");
    assert_eq!(dec_of(&p["taxAmount"]), d("-0.80"), "{p}");
    assert_eq!(p["payMethod"], "CASH", "{p}");
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_to_a_gift_card_is_one_add_and_a_cancel_takes_it_back() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "ret-gift", "lines": [
            {"sku": "ITEM-001", "quantity": "2", "unit_price": "4.00", "refund": true}]}),
    )
    .await;
    let body =
        json!({"method": "giftcard", "amount": "5.00", "code": CARD, "refund_id": "ret-gift-r1"});
    let (st, first) = refund(&l.api, "ret-gift", body.clone()).await;
    assert_eq!(
        (st, first["status"].as_str()),
        (201, Some("approved")),
        "{first}"
    );
    assert_eq!(dec_of(&first["balance"]), d("55.00"), "{first}");
    assert_eq!(dec_of(&first["due"]), d("-3.00"), "{first}");
    assert!(!first.to_string().contains(CARD), "{first}");
    let (_, again) = refund(&l.api, "ret-gift", body).await;
    assert_eq!(again, first, "the first answer again");
    let ledger = l.pos.control().ledger();
    let add = adds(&ledger);
    assert_eq!(add.len(), 1, "one ADD at the POS: {add:?}");
    assert_eq!(add[0].amount, d("5.00"));

    // Cancel takes the refund back: a USE of the same amount under its own refNo.
    let (st, v) = l.api.post("/v1/sales/ret-gift/cancel", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    let ledger = l.pos.control().ledger();
    let uses: Vec<_> = ledger
        .giftcard_transactions
        .iter()
        .filter(|t| t.trans_type == TransType::Use)
        .collect();
    assert_eq!(uses.len(), 1, "{uses:?}");
    assert_eq!(uses[0].amount, d("-5.00"));
    assert_ne!(uses[0].ref_no, add[0].ref_no);
    assert!(
        ledger.balances.values().any(|b| *b == d("50.00")),
        "{:?}",
        ledger.balances
    );
    let receipt = l.api.get("/v1/sales/ret-gift/receipt").await;
    let text = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("CANCELLED") && text.contains("TAKEN BACK"),
        "{text}"
    );
    stop_gracefully(child, notify).await;
    assert_no_full_code(l.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_nets_out_and_refunds_stay_within_the_original_sale() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    // The original sale: paid by gift card.
    open(
        &l.api,
        json!({"sale_id": "orig", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "12.00"}]}),
    )
    .await;
    let (st, v) = l
        .api
        .post(
            "/v1/sales/orig/payments",
            json!({"method": "giftcard", "amount": "12.00", "code": CARD}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, _) = l.api.post("/v1/sales/orig/complete", json!({})).await;
    assert_eq!(st, 200);

    // An exchange below zero: 12.00 back, 4.00 taken.
    let v = open(
        &l.api,
        json!({"sale_id": "exch-1", "original_sale_id": "orig", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "12.00", "refund": true},
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "4.00"}]}),
    )
    .await;
    assert_eq!(dec_of(&v["total"]), d("-8.00"), "{v}");
    // A card refund beyond what the original sale took on card (nothing).
    let (st, v) = refund(
        &l.api,
        "exch-1",
        json!({"method": "card", "amount": "8.00"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    // Another gift card than the one the original sale took.
    let (st, v) = refund(
        &l.api,
        "exch-1",
        json!({"method": "giftcard", "amount": "8.00", "code": "6006491000000004"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (st, v) = refund(
        &l.api,
        "exch-1",
        json!({"method": "giftcard", "amount": "8.00", "code": CARD}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = l.api.post("/v1/sales/exch-1/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    let p = purchase_of(&l.pos, &l.api, "exch-1").await;
    let items = p["lineItems"].as_array().unwrap();
    assert_eq!(
        (
            items[0]["isRefund"].as_bool(),
            items[1]["isRefund"].as_bool()
        ),
        (Some(true), Some(false)),
        "{p}"
    );
    assert_eq!(dec_of(&p["subTotal"]), d("-8.00"), "{p}");
    assert_eq!(dec_of(&p["refundAmount"]), d("8.00"), "{p}");
    assert_eq!(p["payMethod"], "GIFTCARD", "{p}");

    // A second return against the same original: only 4.00 of its gift card is left.
    open(
        &l.api,
        json!({"sale_id": "exch-2", "original_sale_id": "orig", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "12.00", "refund": true}]}),
    )
    .await;
    let (st, v) = refund(
        &l.api,
        "exch-2",
        json!({"method": "giftcard", "amount": "4.01", "code": CARD}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (st, v) = refund(
        &l.api,
        "exch-2",
        json!({"method": "giftcard", "amount": "4.00", "code": CARD}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = refund(
        &l.api,
        "exch-2",
        json!({"method": "cash", "amount": "8.00"}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");

    // An exchange above zero is an ordinary sale for the difference.
    let v = open(
        &l.api,
        json!({"sale_id": "exch-3", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "4.00", "refund": true},
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "10.00"}]}),
    )
    .await;
    assert_eq!(dec_of(&v["due"]), d("6.00"), "{v}");
    let (st, v) = refund(
        &l.api,
        "exch-3",
        json!({"method": "cash", "amount": "1.00"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (st, _) = l
        .api
        .post(
            "/v1/sales/exch-3/payments",
            json!({"method": "cash", "amount": "6.00"}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, _) = l.api.post("/v1/sales/exch-3/complete", json!({})).await;
    assert_eq!(st, 200);
    let p = purchase_of(&l.pos, &l.api, "exch-3").await;
    assert_eq!(
        (dec_of(&p["payAmount"]), dec_of(&p["refundAmount"])),
        (d("6.00"), Decimal::ZERO),
        "{p}"
    );

    // A returned line with a bad shape is a clear 4xx.
    let (st, v) = l
        .api
        .post("/v1/sales", json!({"lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "1.00", "refund": true}], "tax": "0.10"}))
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_amount")),
        "{v}"
    );
    let (st, v) = l
        .api
        .post("/v1/sales", json!({"original_sale_id": "nope", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "1.00", "refund": true}]}))
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_while_offline_pays_cash_refuses_card_and_queues_the_gift_card_once() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "ret-off", "lines": [
            {"sku": "ITEM-001", "quantity": "3", "unit_price": "10.00", "refund": true}]}),
    )
    .await;
    l.pos.control().set_online(false).await;

    let body =
        json!({"method": "giftcard", "amount": "12.00", "code": CARD, "refund_id": "ret-off-g"});
    let (st, g) = refund(&l.api, "ret-off", body.clone()).await;
    assert_eq!(
        (st, g["status"].as_str()),
        (201, Some("offline_approved")),
        "{g}"
    );
    let (_, again) = refund(&l.api, "ret-off", body).await;
    assert_eq!(again, g, "the first answer again");
    let (st, c) = refund(
        &l.api,
        "ret-off",
        json!({"method": "card", "amount": "8.00"}),
    )
    .await;
    assert_eq!(
        (st, c["status"].as_str(), c["reason"].as_str()),
        (201, Some("declined"), Some("link_offline")),
        "{c}"
    );
    let (st, m) = refund(
        &l.api,
        "ret-off",
        json!({"method": "cash", "amount": "18.00"}),
    )
    .await;
    assert_eq!((st, m["status"].as_str()), (201, Some("approved")), "{m}");
    assert_eq!(dec_of(&m["due"]), Decimal::ZERO, "{m}");
    let (st, v) = l.api.post("/v1/sales/ret-off/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    let status = l.api.get("/v1/status").await;
    assert!(
        status["outbox"]["pending"].as_u64().unwrap() >= 2,
        "{status}"
    );
    assert_eq!(adds(&l.pos.control().ledger()).len(), 0);

    // The link is back: the ADD goes out once, then the purchase.
    l.pos.control().set_online(true).await;
    let p = purchase_of(&l.pos, &l.api, "ret-off").await;
    assert_eq!(dec_of(&p["refundAmount"]), d("30.00"), "{p}");
    assert_eq!(p["payMethod"], "GIFTCARD+CASH", "{p}");
    let ledger = l.pos.control().ledger();
    let add = adds(&ledger);
    assert_eq!(add.len(), 1, "the queued ADD was forwarded once: {add:?}");
    assert_eq!(add[0].amount, d("12.00"));
    let adds_sent = ledger
        .requests
        .iter()
        .filter(|r| r.ref_no.is_some() && r.ref_no == add[0].ref_no)
        .count();
    assert_eq!(adds_sent, 1, "no second send of the ADD");
    stop_gracefully(child, notify).await;
    assert_no_full_code(l.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_tender_receipt_masks_every_tender_and_a_card_refund_runs_on_the_terminal() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "split-1", "lines": [{"sku": "ITEM-001", "quantity": "2", "unit_price": "5.00"}]}),
    )
    .await;
    let (st, v) = l
        .api
        .post(
            "/v1/sales/split-1/payments",
            json!({"method": "giftcard", "amount": "4.00", "code": CARD}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, v) = l
        .api
        .post(
            "/v1/sales/split-1/payments",
            json!({"method": "card", "amount": "6.00"}),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    let (st, _) = l.api.post("/v1/sales/split-1/complete", json!({})).await;
    assert_eq!(st, 200);
    let receipt = l.api.get("/v1/sales/split-1/receipt").await;
    assert_eq!(receipt["sale_id"], "split-1");
    let lines: Vec<String> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    let text = lines.join("\n");
    let tid = l.api.get("/v1/sales/split-1").await["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("STORE DALLAS") && text.contains("LANE LANE01"),
        "{text}"
    );
    assert!(text.contains(&tid), "{text}");
    assert!(text.contains("GIFT CARD ****0001"), "{text}");
    assert!(text.contains("BALANCE LEFT"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CARD") && l.contains("****")),
        "{text}"
    );
    assert!(text.contains("TOTAL") && text.contains("10.00"), "{text}");
    assert!(
        !receipt.to_string().contains(CARD),
        "no full code anywhere: {receipt}"
    );
    // No digit run longer than 4 that could be a card number.
    for l in &lines {
        let longest = l
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest < 12, "a long digit run on the receipt: {l}");
    }

    // The terminal's own receipt lines are on the customer receipt, masked.
    assert!(text.contains("HWSIM TEST TERMINAL"), "{text}");
    assert!(text.contains("APPROVED"), "{text}");

    // A return to a card on this ZVT lane: the terminal's refund (06 31), journaled there.
    open(
        &l.api,
        json!({"sale_id": "ret-card", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "5.00", "refund": true}]}),
    )
    .await;
    let (st, v) = refund(
        &l.api,
        "ret-card",
        json!({"method": "card", "amount": "5.00"}),
    )
    .await;
    assert_eq!(
        (st, v["status"].as_str(), v["reason"].as_str()),
        (201, Some("approved"), None),
        "{v}"
    );
    assert_eq!(dec_of(&v["due"]), d("0.00"), "{v}");
    let refunds = l.terminal().control().refunds();
    assert_eq!(refunds.len(), 1, "one refund at the terminal");
    assert_eq!(refunds[0].amount, d("5.00"));
    let (st, v) = l.api.post("/v1/sales/ret-card/complete", json!({})).await;
    assert_eq!(st, 200, "{v}");
    stop_gracefully(child, notify).await;
    assert_no_full_code(l.dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_hangs_up_on_a_slow_add_gets_the_refund_on_retry() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "ret-slow", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "6.00", "refund": true}]}),
    )
    .await;
    // The ADD takes 1.5 s at the POS (within the agent's 2 s request timeout).
    l.pos.control().inject(Fault {
        target: FaultTarget::Operation("giftcardTransAdd".into()),
        kind: FaultKind::Latency(Duration::from_millis(1500)),
        times: Some(1),
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let body =
        json!({"method": "giftcard", "amount": "6.00", "code": CARD, "refund_id": "ret-slow-r"});
    let gave_up = impatient
        .post(format!("{}/v1/sales/ret-slow/refunds", l.api.base))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err(), "the register timed out: {gave_up:?}");
    // The retry waits on the same movement and gets its outcome.
    let (st, v) = refund(&l.api, "ret-slow", body).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("approved")), "{v}");
    assert_eq!(dec_of(&v["due"]), Decimal::ZERO, "{v}");
    let ledger = l.pos.control().ledger();
    assert_eq!(adds(&ledger).len(), 1, "one ADD: {:?}", adds(&ledger));
    let (st, _) = l.api.post("/v1/sales/ret-slow/complete", json!({})).await;
    assert_eq!(st, 200);
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_whose_answer_is_lost_is_in_doubt_and_never_paid_twice() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "ret-lost", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "7.00", "refund": true}]}),
    )
    .await;
    l.pos.control().inject(Fault {
        target: FaultTarget::Operation("giftcardTransAdd".into()),
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    let body =
        json!({"method": "giftcard", "amount": "7.00", "code": CARD, "refund_id": "ret-lost-r"});
    let (st, v) = refund(&l.api, "ret-lost", body.clone()).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("in_doubt")), "{v}");
    assert_eq!(
        dec_of(&v["due"]),
        Decimal::ZERO,
        "counted as paid back: {v}"
    );
    let (_, again) = refund(&l.api, "ret-lost", body).await;
    assert_eq!(again, v, "the first answer again");
    let (st, e) = refund(
        &l.api,
        "ret-lost",
        json!({"method": "cash", "amount": "7.00"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "never paid twice: {e}"
    );
    assert_eq!(
        adds(&l.pos.control().ledger()).len(),
        1,
        "the ADD ran once at the POS"
    );
    let ex = l.api.get("/v1/exceptions").await;
    let ex = ex.to_string();
    assert!(
        ex.contains("refund_in_doubt") && ex.contains("ret-lost"),
        "{ex}"
    );
    assert!(!ex.contains(CARD), "{ex}");
    let (st, v) = l.api.post("/v1/sales/ret-lost/cancel", json!({})).await;
    assert_eq!(st, 409, "a refund in doubt blocks the cancel: {v}");
    let (st, v) = l.api.post("/v1/sales/ret-lost/complete", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("completed")), "{v}");
    stop_gracefully(child, notify).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_takes_back_cash_and_drops_a_gift_card_refund_still_queued() {
    let l = lane().await;
    let (child, notify) = l.start().await;
    open(
        &l.api,
        json!({"sale_id": "ret-undo", "lines": [
            {"sku": "ITEM-001", "quantity": "1", "unit_price": "20.00", "refund": true}]}),
    )
    .await;
    l.pos.control().set_online(false).await;
    let (st, g) = refund(
        &l.api,
        "ret-undo",
        json!({"method": "giftcard", "amount": "15.00", "code": CARD}),
    )
    .await;
    assert_eq!(
        (st, g["status"].as_str()),
        (201, Some("offline_approved")),
        "{g}"
    );
    let (st, m) = refund(
        &l.api,
        "ret-undo",
        json!({"method": "cash", "amount": "5.00"}),
    )
    .await;
    assert_eq!((st, m["status"].as_str()), (201, Some("approved")), "{m}");
    let (st, v) = l.api.post("/v1/sales/ret-undo/cancel", json!({})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    let receipt = l.api.get("/v1/sales/ret-undo/receipt").await.to_string();
    assert_eq!(receipt.matches("TAKEN BACK").count(), 2, "{receipt}");
    let status = l.api.get("/v1/status").await;
    assert_eq!(
        status["outbox"]["pending"], 0,
        "the queued ADD was dropped: {status}"
    );

    // The link is back: nothing is loaded onto the card.
    l.pos.control().set_online(true).await;
    let (st, v) = l
        .api
        .post(
            "/v1/giftcards/reload",
            json!({"code": "6006491000000004", "amount": "1.00"}),
        )
        .await;
    assert_eq!(st, 200, "the link is up again: {v}");
    let (st, _) = l.api.post("/v1/outbox/flush", json!({})).await;
    assert_eq!(st, 200);
    let ledger = l.pos.control().ledger();
    let loaded: Vec<_> = adds(&ledger)
        .into_iter()
        .filter(|t| t.amount == d("15.00"))
        .collect();
    assert!(
        loaded.is_empty(),
        "no ADD for the dropped refund: {loaded:?}"
    );
    stop_gracefully(child, notify).await;
}
