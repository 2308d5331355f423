//! Throughput figures of the POS simulator over loopback HTTP (not a test: it prints).
//!
//! `cargo run --release -p hardware-sim --example pos_bench`

use std::time::Instant;

use hardware_sim::pos::{PosSim, Seed};
use serde_json::{Value, json};

const PURCHASES: usize = 2_000;
const ITEMS: u32 = 20_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seed = Seed::example();
    seed.generate_items = ITEMS;
    let started = Instant::now();
    let sim = PosSim::start("127.0.0.1:0".parse()?, seed).await?;
    println!(
        "start with {ITEMS} generated items: {:?}",
        started.elapsed()
    );
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/connect/token", sim.issuer_url()))
        .basic_auth("lane-agent", Some("lane-agent-sim-secret-0123456789"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or("no token")?.to_owned();

    let query = "mutation($a: PurchaseAddInput!) { purchaseAdd(add: $a) { id } }";
    let started = Instant::now();
    for n in 0..PURCHASES {
        let input = json!({
            "transactionId": format!("R01-{n:08}"), "storeCode": "DALLAS",
            "purchasedOn": "2026-11-28T10:15:00", "payAmount": "9.99",
            "saleDiscountAmount": "0", "itemDiscountAmount": "0", "subTotal": "9.99",
            "refundAmount": "0", "taxAmount": "0",
            "lineItems": [{"lineNumber": 1, "sku": "1000001", "isRefund": false,
                "unitPrice": "9.99", "extPrice": "9.99", "itemDiscountAmount": "0",
                "saleDiscountAmount": "0", "quantity": "1", "uom": "EA"}]
        });
        let body: Value = http
            .post(sim.graphql_url())
            .bearer_auth(&token)
            .json(&json!({"query": query, "variables": {"a": input}}))
            .send()
            .await?
            .json()
            .await?;
        if body["data"]["purchaseAdd"].is_null() {
            return Err(format!("purchaseAdd failed: {body}").into());
        }
    }
    let elapsed = started.elapsed();
    println!(
        "purchaseAdd sequential: {PURCHASES} in {elapsed:?} = {:.0}/s",
        PURCHASES as f64 / elapsed.as_secs_f64()
    );

    let query = "query($s: String) { item(since: $s, first: 500) { hasMoreResults until results { sku warehouses { basePrice } } } }";
    let started = Instant::now();
    let (mut since, mut rows, mut pages) = (String::new(), 0usize, 0usize);
    loop {
        let body: Value = http
            .post(sim.graphql_url())
            .bearer_auth(&token)
            .json(&json!({"query": query, "variables": {"s": since}}))
            .send()
            .await?
            .json()
            .await?;
        let page = &body["data"]["item"];
        rows += page["results"].as_array().map_or(0, Vec::len);
        pages += 1;
        since = page["until"].as_str().ok_or("no until")?.to_owned();
        if page["hasMoreResults"] != true {
            break;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "item since-walk: {rows} rows in {pages} pages in {elapsed:?} = {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
    sim.shutdown().await;
    Ok(())
}
