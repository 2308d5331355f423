//! Items, products and members through the assembled agent's API (the demo lane: the real
//! wiring against the POS stand-in): online answers, 404s, and a member from the lane's
//! cache and a product from the synced mirror while the POS is down.

use lane_agent::demo::{DEMO_TOKEN, DemoLane};
use serde_json::Value;

async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(DEMO_TOKEN)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_products_and_members_online_then_member_from_cache_offline() {
    let lane = DemoLane::start().await.unwrap();
    let base = lane.api_url.clone();

    let (st, item) = get(&base, "/v1/items/1000001").await;
    assert_eq!(st, 200, "{item}");
    assert_eq!(item["name"], "Coffee Mug");
    assert_eq!(item["source"], "online");
    // Price and stock of the lane's warehouse (`lane.warehouse_code`, default MAIN), not of
    // a warehouse named like the store code.
    assert_eq!(item["base_price"], "9.99", "{item}");
    assert_eq!(item["quantity_available"], "42", "{item}");
    let (st, tea) = get(&base, "/v1/items/1000002").await;
    assert_eq!(st, 200, "{tea}");
    assert_eq!(
        tea["quantity_available"], "12",
        "MAIN's stock, not DALLAS's: {tea}"
    );

    let (st, product) = get(&base, "/v1/products/1000001").await;
    assert_eq!(st, 200, "{product}");
    assert_eq!(product["description"], "A sturdy mug.");
    assert_eq!(product["source"], "online");

    let (st, e) = get(&base, "/v1/items/9999999").await;
    assert_eq!(st, 404, "{e}");
    assert_eq!(e["error"]["code"], "item_not_found");

    let (st, member) = get(&base, "/v1/members/000010049").await;
    assert_eq!(st, 200, "{member}");
    assert_eq!(member["customer_id"], "00000000000000000001");
    assert_eq!(member["name"], "D*** E***");
    assert_eq!(member["source"], "online");

    let (st, e) = get(&base, "/v1/members/000099999").await;
    assert_eq!(st, 404, "{e}");
    assert_eq!(e["error"]["code"], "member_not_found");

    // The agent's first mirror sync pass (run at start) brings the catalog onto the lane.
    let mirror = lane_agent::mirror::Mirror::open(lane_agent::mirror::MirrorOptions::new(
        lane_agent::mirror::mirror_path(&lane.dir.path().join("agent.db")),
    ))
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(50));
    let synced = async || {
        let item = mirror.item_by_sku("1000002", "MAIN").await.unwrap();
        mirror.product_by_sku("1000001").await.unwrap().is_some()
            && item.is_some_and(|a| a.value.quantity_available.is_some())
    };
    while !synced().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror never synced"
        );
        ticks.tick().await;
    }

    // The POS goes down: the member answered before comes from the lane's cache, the
    // product from the mirror.
    lane.pos.control().set_online(false).await;
    let (st, product) = get(&base, "/v1/products/1000001").await;
    assert_eq!(st, 200, "{product}");
    assert_eq!(product["source"], "mirror");
    assert_eq!(product["name"], "Coffee Mug");
    let (st, item) = get(&base, "/v1/items/1000001").await;
    assert_eq!(st, 200, "{item}");
    assert_eq!(item["source"], "mirror");
    assert_eq!(item["base_price"], "9.99", "{item}");
    assert_eq!(item["quantity_available"], "42", "{item}");
    let (st, tea) = get(&base, "/v1/items/1000002").await;
    assert_eq!(st, 200, "{tea}");
    assert_eq!(tea["source"], "mirror");
    assert_eq!(tea["quantity_available"], "12", "{tea}");
    let (st, member) = get(&base, "/v1/members/000010049").await;
    assert_eq!(st, 200, "{member}");
    assert_eq!(member["source"], "mirror");
    assert_eq!(member["name"], "D*** E***");

    lane.pos.control().set_online(true).await;
    lane.stop().await.unwrap();
}
