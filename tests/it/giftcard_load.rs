//! Selling and reloading gift cards through the running agent against the POS stand-in:
//! `activate` creates the card (giftcardAdd) and funds it with an ADD, `reload` adds to it,
//! the POS ledger shows exactly those credits, a second activation of the code is a 409 that
//! changes nothing, and the new card then pays for a sale.

use crate::support::agent::stop_gracefully;
use crate::support::lane::TestLane;
use serde_json::json;

const TOKEN: &str = "giftcard-load-token-0123456789ab";
const NEW_CODE: &str = "6006497700000042";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_then_reload_then_spend_a_new_card() {
    let l = TestLane::zvt().token(TOKEN).build().await;
    let (pos, api) = (&l.pos, &l.api);
    let (child, notify) = l.start().await;

    let (st, v) = api
        .post(
            "/v1/giftcards/activate",
            json!({"code": NEW_CODE, "amount": "25.00"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["code"], "****0042", "{v}");
    assert_eq!(v["amount"], "25.00", "{v}");

    let (st, v) = api
        .post(
            "/v1/giftcards/reload",
            json!({"code": NEW_CODE, "amount": "10.00"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["amount"], "10.00", "{v}");

    let v = api
        .get(&format!("/v1/giftcards/balance?code={NEW_CODE}"))
        .await;
    assert_eq!(v["balance"], "35.00", "{v}");
    assert_eq!(v["code"], "****0042", "{v}");
    assert!(!v.to_string().contains(NEW_CODE), "{v}");

    // The POS holds exactly the two credits, completed, on one new card.
    let ledger = pos.control().ledger();
    let credits: Vec<_> = ledger
        .giftcard_transactions
        .iter()
        .filter(|t| format!("{:?}", t.trans_type) == "Add")
        .collect();
    assert_eq!(credits.len(), 2, "{credits:?}");
    let card = &credits[0].giftcard_id;
    assert!(credits.iter().all(|t| &t.giftcard_id == card));
    assert_eq!(ledger.balance(card).unwrap().to_string(), "35.00");

    // Activating the same code again creates nothing.
    let (st, v) = api
        .post(
            "/v1/giftcards/activate",
            json!({"code": NEW_CODE, "amount": "5.00"}),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["error"]["code"], "giftcard_exists", "{v}");
    assert_eq!(
        pos.control().ledger().balance(card).unwrap().to_string(),
        "35.00"
    );

    // The new card pays for a sale.
    let (st, v) = api
        .post(
            "/v1/sales",
            json!({"sale_id": "load-1", "lines": [{"sku": "ITEM-001", "quantity": "1", "unit_price": "12.00"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (_, v) = api
        .post(
            "/v1/sales/load-1/payments",
            json!({"method": "giftcard", "amount": "12.00", "code": NEW_CODE}),
        )
        .await;
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(v["balance"], "23.00", "{v}");

    stop_gracefully(child, notify).await;
}
