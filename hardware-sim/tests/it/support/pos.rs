//! Shared helpers for the POS simulator tests: a started simulator and a raw HTTP client.

use hardware_sim::pos::{PosSim, Seed};
use serde_json::{Value, json};

pub const AGENT: (&str, &str) = ("lane-agent", "lane-agent-sim-secret-0123456789");
pub const REPORTS: (&str, &str) = ("reports", "reports-sim-secret-0123456789");
pub const ADMIN: (&str, &str) = ("admin", "admin-sim-secret-0123456789");

pub async fn start() -> PosSim {
    start_with(Seed::example()).await
}

pub async fn start_with(seed: Seed) -> PosSim {
    PosSim::start("127.0.0.1:0".parse().unwrap(), seed)
        .await
        .expect("simulator starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A fresh token by client_secret_basic.
pub async fn token(sim: &PosSim, client: (&str, &str)) -> String {
    let response = http()
        .post(format!("{}/connect/token", sim.issuer_url()))
        .basic_auth(client.0, Some(client.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// POSTs a GraphQL request; asserts HTTP 200 and returns the body.
pub async fn gql(sim: &PosSim, token: &str, query: &str, variables: Value) -> Value {
    let response = http()
        .post(sim.graphql_url())
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `errors[0].extensions.code`.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// `errors[0].extensions.data.ValidationType`.
pub fn validation_type(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["data"]["ValidationType"].as_str()
}

pub const TRANS_ADD: &str = "mutation($t: GiftcardTransAddInput!) { giftcardTransAdd(trans: $t) { id giftcardId balance status amount } }";
pub const TRANS_CAPTURE: &str = "mutation($t: GiftcardTransCaptureInput!) { giftcardTransCapture(trans: $t) { id giftcardId balance status amount } }";
pub const PURCHASE_ADD: &str = "mutation($a: PurchaseAddInput!) { purchaseAdd(add: $a) { id } }";

pub fn purchase(transaction_id: &str) -> Value {
    json!({
        "transactionId": transaction_id,
        "storeCode": "DALLAS",
        "purchasedOn": "2026-11-28T10:15:00",
        "payAmount": "10.69",
        "saleDiscountAmount": "0.00",
        "itemDiscountAmount": "0.00",
        "subTotal": "9.99",
        "refundAmount": "0.00",
        "taxAmount": "0.70",
        "memberId": "000010049",
        "payMethod": "CASH",
        "lineItems": [{
            "lineNumber": 1, "sku": "1000001", "isRefund": false,
            "unitPrice": "9.99", "extPrice": "9.99",
            "itemDiscountAmount": "0.00", "saleDiscountAmount": "0.00",
            "quantity": "1", "uom": "EA"
        }]
    })
}
