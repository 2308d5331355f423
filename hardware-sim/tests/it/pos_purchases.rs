//! purchaseAdd and permissions over real HTTP.

use crate::support::pos::*;
use rust_decimal::dec;
use serde_json::json;

#[tokio::test]
async fn the_same_purchase_sent_twice_is_recorded_twice() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let first = gql(&sim, &t, PURCHASE_ADD, json!({"a": purchase("R01-000001")})).await;
    let second = gql(&sim, &t, PURCHASE_ADD, json!({"a": purchase("R01-000001")})).await;
    let a = first["data"]["purchaseAdd"]["id"].as_str().unwrap();
    let b = second["data"]["purchaseAdd"]["id"].as_str().unwrap();
    assert_ne!(a, b);
    let ledger = sim.control().ledger();
    let records = ledger.purchases_with("R01-000001");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].store_code, "DALLAS");
    assert_eq!(records[0].pay_amount, dec!(10.69));
    assert_eq!(records[0].member_id.as_deref(), Some("000010049"));
    assert_eq!(records[0].client_id, "lane-agent");
    assert_eq!(records[0].input["lineItems"][0]["quantity"], "1");
    assert_eq!(records[0].input["payAmount"], "10.69");
    assert_eq!(ledger.request_count("purchaseAdd"), 2);
    assert_eq!(ledger.attempts_for("R01-000001"), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_purchases_are_rejected_and_not_recorded() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let cases = [
        ("transactionId", json!(""), "TransactionId"),
        ("storeCode", json!(""), "StoreCode"),
        ("storeCode", json!("NOWHERE"), "StoreCode"),
        (
            "purchasedOn",
            json!("2026-11-28T10:15:00+01:00"),
            "PurchasedOn",
        ),
        ("purchasedOn", json!("yesterday"), "PurchasedOn"),
        ("lineItems", json!([]), "LineItems"),
    ];
    for (field, value, property) in cases {
        let mut input = purchase("R01-000002");
        input[field] = value;
        let body = gql(&sim, &t, PURCHASE_ADD, json!({"a": input})).await;
        assert_eq!(code(&body), Some("VALIDATION"), "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["data"]["Property"], property,
            "{body}"
        );
        assert!(body["data"]["purchaseAdd"].is_null());
    }
    // Amounts are strings: a JSON number is rejected by the Decimal scalar.
    let mut input = purchase("R01-000002");
    input["payAmount"] = json!(10.69);
    let body = gql(&sim, &t, PURCHASE_ADD, json!({"a": input})).await;
    assert!(body["errors"].is_array(), "{body}");
    // A missing required field is a GraphQL error too.
    let mut input = purchase("R01-000002");
    input.as_object_mut().unwrap().remove("taxAmount");
    let body = gql(&sim, &t, PURCHASE_ADD, json!({"a": input})).await;
    assert!(body["errors"].is_array(), "{body}");
    assert!(sim.control().ledger().purchases.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_permissions_are_not_authorized() {
    let sim = start().await;
    let reports = token(&sim, REPORTS).await;
    let body = gql(
        &sim,
        &reports,
        PURCHASE_ADD,
        json!({"a": purchase("R01-000003")}),
    )
    .await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    assert!(body["data"]["purchaseAdd"].is_null());
    assert!(sim.control().ledger().purchases.is_empty());

    let agent = token(&sim, AGENT).await;
    let sales = gql(&sim, &agent, "{ sale { results { id } } }", json!({})).await;
    assert_eq!(code(&sales), Some("NOT_AUTHORIZED"));
    let sales = gql(&sim, &reports, "{ sale { results { id } } }", json!({})).await;
    assert_eq!(
        sales["data"]["sale"]["results"].as_array().unwrap().len(),
        2
    );
    let cards = gql(
        &sim,
        &reports,
        "{ giftcard(code: \"6006491000000001\") { results { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&cards), Some("NOT_AUTHORIZED"));
    let create = gql(
        &sim,
        &reports,
        "mutation { giftcardAdd(giftcard: {physicalCode: \"1\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&create), Some("NOT_AUTHORIZED"));
    // Request log names the operation and the client.
    let ledger = sim.control().ledger();
    let rec = ledger
        .requests
        .iter()
        .find(|r| r.operations == ["purchaseAdd"])
        .unwrap();
    assert_eq!(rec.client_id.as_deref(), Some("reports"));
    sim.shutdown().await;
}
