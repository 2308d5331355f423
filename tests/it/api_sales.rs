//! The register's happy and unhappy paths over real HTTP: sales, payments, gift cards,
//! catalog and status, with idempotent retries and the complete/cancel conflicts.

use crate::support::api::TestApi;
use rust_decimal::dec;
use serde_json::json;

fn one_line(sale_id: &str) -> serde_json::Value {
    json!({"sale_id": sale_id, "lines": [
        {"sku": "MILK-1L", "quantity": "2", "unit_price": "1.19"},
        {"sku": "CHEESE", "quantity": "0.255", "unit_price": "19.90", "uom": "KG"}
    ], "tax": "0.50"})
}

#[tokio::test]
async fn health_needs_no_token() {
    let api = TestApi::start().await;
    let resp = api.client.get(api.url("/v1/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    api.stop().await.unwrap();
}

#[tokio::test]
async fn a_split_tender_sale_from_open_to_complete() {
    let api = TestApi::start().await;
    let a = api.post("/v1/sales", one_line("LANE01-0001")).await;
    assert_eq!(a.status, 201);
    // 2 x 1.19 = 2.38; 0.255 x 19.90 = 5.0745 -> 5.07; + 0.50 tax.
    assert_eq!(
        a.body,
        json!({"sale_id": "LANE01-0001", "total": "7.95", "due": "7.95", "state": "open"})
    );

    // The PIN card covers only part: 20.00 balance, asked 5.00.
    let p = api
        .post(
            "/v1/sales/LANE01-0001/payments",
            json!({"method": "giftcard", "amount": "5.00", "code": "6006492222222222", "pin": "902714", "payment_id": "pay-1"}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(p.body["status"], "approved");
    assert_eq!(p.body["approved_amount"], "5.00");
    assert_eq!(p.body["balance"], "15.00");
    assert_eq!(p.body["due"], "2.95");

    // Completing with 2.95 due is refused and changes nothing.
    let c = api.post("/v1/sales/LANE01-0001/complete", json!({})).await;
    assert_eq!((c.status, c.code()), (409, "amount_due"));
    assert_eq!(api.get("/v1/sales/LANE01-0001").await.body["state"], "open");

    let p = api
        .post(
            "/v1/sales/LANE01-0001/payments",
            json!({"method": "card", "amount": "2.95"}),
        )
        .await;
    assert_eq!(
        (p.status, p.body["status"].as_str()),
        (201, Some("approved"))
    );
    assert_eq!(p.body["due"], "0.00");

    let c = api.post("/v1/sales/LANE01-0001/complete", json!({})).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.body, json!({"state": "completed", "purchase": "queued"}));
    // Repeating complete returns the same answer.
    assert_eq!(
        api.post("/v1/sales/LANE01-0001/complete", json!({}))
            .await
            .body,
        c.body
    );

    let sale = api.get("/v1/sales/LANE01-0001").await;
    assert_eq!(sale.status, 200);
    assert_eq!(sale.body["state"], "completed");
    assert_eq!(sale.body["paid"], "7.95");
    assert_eq!(sale.body["lines"][1]["amount"], "5.07");
    let payments = sale.body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[0]["state"], "captured");
    assert_eq!(payments[0]["code"], "****2222");
    assert!(!sale.body.to_string().contains("6006492222222222"));
    assert!(!sale.body.to_string().contains("902714"));

    let outbox = api.get("/v1/outbox").await;
    assert_eq!(outbox.status, 200);
    assert_eq!(outbox.body["items"][0]["sale_id"], "LANE01-0001");
    assert_eq!(outbox.body["items"][0]["state"], "pending");
    let status = api.get("/v1/status").await;
    assert_eq!(
        status.body["outbox"],
        json!({"pending": 1, "in_doubt": 0, "failed": 0, "held": 0})
    );
    api.stop().await.unwrap();
}

#[tokio::test]
async fn the_same_sale_id_returns_the_same_sale_and_a_different_body_is_409() {
    let api = TestApi::start().await;
    let first = api.post("/v1/sales", one_line("retry-1")).await;
    let again = api.post("/v1/sales", one_line("retry-1")).await;
    assert_eq!((again.status, &again.body), (201, &first.body));

    let mut other = one_line("retry-1");
    other["tax"] = json!("0.60");
    let c = api.post("/v1/sales", other).await;
    assert_eq!((c.status, c.code()), (409, "idempotency_conflict"));
    assert_eq!(api.get("/v1/sales/retry-1").await.body["total"], "7.95");

    // Without an id, every POST is a new sale.
    let body = json!({"lines": [{"sku": "A", "quantity": "1", "unit_price": "1.00"}]});
    let a = api.open_sale(body.clone()).await;
    let b = api.open_sale(body).await;
    assert_ne!(a, b);
    api.stop().await.unwrap();
}

#[tokio::test]
async fn a_retried_payment_is_charged_once() {
    let api = TestApi::start().await;
    api.open_sale(
        json!({"sale_id": "s1", "lines": [{"sku": "A", "quantity": "1", "unit_price": "80.00"}]}),
    )
    .await;
    let body = json!({"method": "giftcard", "amount": "80.00", "code": "6006491111111111", "payment_id": "p1"});
    let first = api.post("/v1/sales/s1/payments", body.clone()).await;
    // Partial approval: the card holds only 50.00.
    assert_eq!(first.body["approved_amount"], "50.00");
    assert_eq!(first.body["due"], "30.00");
    let again = api.post("/v1/sales/s1/payments", body.clone()).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(
        api.backend.card_balance("6006491111111111"),
        Some(dec!(0.00))
    );

    let mut other = body;
    other["amount"] = json!("10.00");
    let c = api.post("/v1/sales/s1/payments", other).await;
    assert_eq!((c.status, c.code()), (409, "idempotency_conflict"));
    assert_eq!(
        api.get("/v1/sales/s1").await.body["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The empty card now declines, which is an answer, not an error.
    let d = api
        .post(
            "/v1/sales/s1/payments",
            json!({"method": "giftcard", "amount": "5.00", "code": "6006491111111111"}),
        )
        .await;
    assert_eq!(
        (
            d.status,
            d.body["status"].as_str(),
            d.body["reason"].as_str()
        ),
        (201, Some("declined"), Some("insufficient_funds"))
    );
    assert_eq!(d.body["approved_amount"], "0");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn cancel_releases_the_card_and_a_completed_sale_refuses_cancel() {
    let api = TestApi::start().await;
    api.open_sale(
        json!({"sale_id": "c1", "lines": [{"sku": "A", "quantity": "1", "unit_price": "10.00"}]}),
    )
    .await;
    api.post(
        "/v1/sales/c1/payments",
        json!({"method": "giftcard", "amount": "4.00", "code": "6006491111111111"}),
    )
    .await;
    assert_eq!(
        api.backend.card_balance("6006491111111111"),
        Some(dec!(46.00))
    );
    let c = api.post("/v1/sales/c1/cancel", json!({})).await;
    assert_eq!((c.status, &c.body), (200, &json!({"state": "cancelled"})));
    assert_eq!(
        api.backend.card_balance("6006491111111111"),
        Some(dec!(50.00))
    );
    assert_eq!(api.post("/v1/sales/c1/cancel", json!({})).await.status, 200);
    let p = api
        .post(
            "/v1/sales/c1/payments",
            json!({"method": "cash", "amount": "1.00"}),
        )
        .await;
    assert_eq!((p.status, p.code()), (409, "sale_not_open"));
    let done = api.post("/v1/sales/c1/complete", json!({})).await;
    assert_eq!((done.status, done.code()), (409, "sale_cancelled"));

    api.open_sale(
        json!({"sale_id": "c2", "lines": [{"sku": "A", "quantity": "1", "unit_price": "3.00"}]}),
    )
    .await;
    api.post(
        "/v1/sales/c2/payments",
        json!({"method": "cash", "amount": "5.00"}),
    )
    .await;
    assert_eq!(
        api.post("/v1/sales/c2/complete", json!({})).await.status,
        200
    );
    let c = api.post("/v1/sales/c2/cancel", json!({})).await;
    assert_eq!((c.status, c.code()), (409, "sale_completed"));
    assert_eq!(api.get("/v1/sales/c2").await.body["state"], "completed");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_sales_are_404() {
    let api = TestApi::start().await;
    assert_eq!(api.get("/v1/sales/nope").await.code(), "sale_not_found");
    for path in ["/v1/sales/nope/complete", "/v1/sales/nope/cancel"] {
        let a = api.post(path, json!({})).await;
        assert_eq!((a.status, a.code()), (404, "sale_not_found"), "{path}");
    }
    let a = api
        .post(
            "/v1/sales/nope/payments",
            json!({"method": "cash", "amount": "1.00"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (404, "sale_not_found"));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn gift_cards_balance_activate_reload_with_masked_codes() {
    let api = TestApi::start().await;
    let b = api.get("/v1/giftcards/balance?code=6006491111111111").await;
    assert_eq!(b.status, 200);
    assert_eq!(
        b.body,
        json!({"balance": "50.00", "code": "****1111", "source": "online"})
    );
    let b = api.get("/v1/giftcards/balance?code=6006499999999999").await;
    assert_eq!((b.status, b.code()), (404, "giftcard_not_found"));
    assert!(!b.body.to_string().contains("6006499999999999"));

    let body = json!({"code": "6006493333333333", "amount": "25.00", "request_id": "load-1"});
    let a = api.post("/v1/giftcards/activate", body.clone()).await;
    assert_eq!(a.status, 201);
    assert_eq!(
        a.body,
        json!({"status": "loaded", "code": "****3333", "amount": "25.00", "balance": "25.00"})
    );
    // A retry with the same request id is the first answer, not a second activation.
    assert_eq!(api.post("/v1/giftcards/activate", body).await.body, a.body);
    let dup = api
        .post(
            "/v1/giftcards/activate",
            json!({"code": "6006493333333333", "amount": "5.00"}),
        )
        .await;
    assert_eq!((dup.status, dup.code()), (409, "giftcard_exists"));

    let r = api
        .post(
            "/v1/giftcards/reload",
            json!({"code": "6006493333333333", "amount": "10.50"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["balance"], "35.50");
    let r = api
        .post(
            "/v1/giftcards/reload",
            json!({"code": "6006498888888888", "amount": "1.00"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "giftcard_not_found"));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn catalog_members_and_status() {
    let api = TestApi::start().await;
    let i = api.get("/v1/items/MILK-1L").await;
    assert_eq!(i.status, 200);
    assert_eq!(i.body["base_price"], "1.19");
    assert_eq!(i.body["source"], "mirror");
    assert_eq!(i.body["mirror_age_secs"], 30);
    assert_eq!(api.get("/v1/items/UNKNOWN").await.code(), "item_not_found");
    let p = api.get("/v1/products/MILK-1L").await;
    assert_eq!(p.body["groups"][0]["code"], "DAIRY");
    assert_eq!(p.body["notices"][0]["text"], "Keep cold");
    assert_eq!(api.get("/v1/products/UNKNOWN").await.status, 404);
    let m = api.get("/v1/members/000010049").await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["name"], "J*** D***");
    let m = api.get("/v1/members/000000000").await;
    assert_eq!((m.status, m.code()), (404, "member_not_found"));

    let s = api.get("/v1/status").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body["link"], "online");
    assert_eq!(s.body["offline_since"], serde_json::Value::Null);
    assert_eq!(
        s.body["devices"][1],
        json!({"name": "msr", "kind": "serial-msr", "state": "disconnected"})
    );
    assert_eq!(s.body["offline_budget"]["max_transaction_amount"], "50.00");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_backend_answers_500_in_the_error_shape() {
    let api = TestApi::start().await;
    let a = api.get("/v1/items/PANIC").await;
    assert_eq!((a.status, a.code()), (500, "internal"));
    // The server is still serving.
    assert_eq!(api.get("/v1/items/MILK-1L").await.status, 200);
    api.stop().await.unwrap();
}
