//! skip/first and Since & Until over real HTTP, with changes between pages.

use std::collections::BTreeMap;

use crate::support::pos::*;
use hardware_sim::pos::{PosSim, Seed, generated_item};
use serde_json::{Value, json};

const ITEMS: &str = "query($since: String, $first: Int, $skip: Int, $wh: String) {
  item(since: $since, first: $first, skip: $skip, warehouseCode: $wh) {
    hasMoreResults until results { sku name warehouses { warehouseCode sku basePrice quantityAvailable } } } }";

async fn items(sim: &PosSim, t: &str, vars: Value) -> Value {
    let body = gql(sim, t, ITEMS, vars).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["item"].clone()
}

fn big_seed() -> Seed {
    let mut seed = Seed::example();
    seed.generate_items = 3000;
    seed
}

#[tokio::test]
async fn a_since_walk_with_thousands_of_changes_in_between_skips_nothing() {
    let sim = start_with(big_seed()).await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    for sku in ["1000001", "1000002", "1000003", "1000004"] {
        expected.insert(sku.into(), None);
    }
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut since = String::new();
    let mut page_no = 0u32;
    loop {
        let page = items(&sim, &t, json!({"since": since, "first": 250})).await;
        for row in page["results"].as_array().unwrap() {
            seen.insert(
                row["sku"].as_str().unwrap().to_owned(),
                row["name"].as_str().map(str::to_owned),
            );
        }
        since = page["until"].as_str().unwrap().to_owned();
        if !page["hasMoreResults"].as_bool().unwrap() {
            break;
        }
        page_no += 1;
        // Change 150 items spread over the whole catalog, seen and not yet seen, and add 10.
        for k in 0..150u32 {
            let n = (page_no * 977 + k * 19) % 3000 + 1;
            let mut item = generated_item(n);
            item.name = Some(format!("changed on page {page_no}"));
            control.upsert_item(item);
        }
        for k in 0..10u32 {
            control.upsert_item(generated_item(10_000 + page_no * 10 + k));
        }
    }
    assert!(page_no >= 10, "the walk took {page_no} pages");
    // What the catalog holds now, from a plain skip/first walk.
    let mut skip = 0;
    loop {
        let page = items(&sim, &t, json!({"skip": skip, "first": 1000})).await;
        for row in page["results"].as_array().unwrap() {
            expected.insert(
                row["sku"].as_str().unwrap().to_owned(),
                row["name"].as_str().map(str::to_owned),
            );
        }
        skip += 1000;
        if !page["hasMoreResults"].as_bool().unwrap() {
            break;
        }
    }
    assert!(expected.len() > 3100);
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "some item's latest version was skipped");

    // Caught up: nothing new, same until; a change shows up on the next call.
    let idle = items(&sim, &t, json!({"since": since})).await;
    assert_eq!(idle["results"], json!([]));
    assert_eq!(idle["hasMoreResults"], false);
    assert_eq!(idle["until"], since.as_str());
    let mut item = generated_item(42);
    item.name = Some("late change".into());
    // Also through the admin API, as a technician would.
    let status = http()
        .post(format!("{}/_sim/items", sim.issuer_url()))
        .json(&item)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let next = items(&sim, &t, json!({"since": since})).await;
    assert_eq!(next["results"][0]["sku"], "GEN-000042");
    assert_eq!(next["results"][0]["name"], "late change");
    sim.shutdown().await;
}

#[tokio::test]
async fn skip_first_order_by_sku_and_filters() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let page = items(&sim, &t, json!({"first": 2})).await;
    let skus: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["1000001", "1000002"]);
    assert_eq!(page["hasMoreResults"], true);
    assert!(page["until"].is_null());
    // The seed has five items; the last page holds 1000004 and ITEM-001.
    let page = items(&sim, &t, json!({"first": 2, "skip": 3})).await;
    assert_eq!(page["hasMoreResults"], false);
    let dallas = items(&sim, &t, json!({"wh": "DALLAS"})).await;
    assert_eq!(dallas["results"].as_array().unwrap().len(), 1);
    assert_eq!(dallas["results"][0]["warehouses"][0]["basePrice"], "14.50");
    let bad = gql(&sim, &t, ITEMS, json!({"since": "not-an-until"})).await;
    assert_eq!(code(&bad), Some("VALIDATION"));
    let bad = gql(&sim, &t, ITEMS, json!({"first": -1})).await;
    assert_eq!(code(&bad), Some("VALIDATION"));
    sim.shutdown().await;
}

#[tokio::test]
async fn warehouse_serial_lot_product_and_sale_rows_page_by_since() {
    let sim = start().await;
    let t = token(&sim, ADMIN).await;
    for (query, field, total) in [
        (
            "query($s: String) { itemWarehouse(since: $s, first: 2) { hasMoreResults until results { sku warehouseCode } } }",
            "itemWarehouse",
            6,
        ),
        (
            "query($s: String) { itemSerialLot(since: $s, first: 1) { hasMoreResults until results { serialLotNumber } } }",
            "itemSerialLot",
            2,
        ),
        (
            "query($s: String) { product(since: $s, first: 1) { hasMoreResults until results { sku } } }",
            "product",
            2,
        ),
        (
            "query($s: String) { sale(since: $s, first: 1) { hasMoreResults until results { id } } }",
            "sale",
            2,
        ),
    ] {
        let mut since = String::new();
        let mut count = 0;
        loop {
            let body = gql(&sim, &t, query, json!({"s": since})).await;
            let page = &body["data"][field];
            count += page["results"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .len();
            since = page["until"].as_str().unwrap().to_owned();
            if page["hasMoreResults"] == false {
                break;
            }
        }
        assert_eq!(count, total, "{field}");
    }
    // A changed item moves its warehouse rows to the end of the order.
    let mut item = generated_item(1);
    item.sku = "1000002".into();
    sim.control().upsert_item(item);
    let body = gql(
        &sim,
        &t,
        "{ itemWarehouse(since: \"\") { results { sku warehouseCode } } }",
        json!({}),
    )
    .await;
    let rows = body["data"]["itemWarehouse"]["results"].as_array().unwrap();
    assert_eq!(rows.last().unwrap()["sku"], "1000002");
    assert_eq!(rows.iter().filter(|r| r["sku"] == "1000002").count(), 1);
    sim.shutdown().await;
}
