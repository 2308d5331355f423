//! SKU validation when a sale is opened: an SKU the complete item mirror does not know is a
//! 422 `unknown_sku` and opens nothing; while the item mirror is still loading the sale is
//! allowed with a warning.

use lane_agent::agent::catalog::check_sale_skus;
use lane_agent::api::backend::BackendError;
use lane_agent::demo::{DEMO_TOKEN, DemoLane};
use lane_agent::mirror::fake::{FakeCatalog, FakeFault};
use lane_agent::mirror::sync::Entity;
use lane_agent::mirror::{Mirror, MirrorOptions, SkuWarning, SourceError, mirror_path, sync_once};
use serde_json::{Value, json};

async fn send(base: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let req = match body {
        Some(b) => http.post(format!("{base}{path}")).json(&b),
        None => http.get(format!("{base}{path}")),
    };
    let r = req
        .bearer_auth(DEMO_TOKEN)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku_is_refused_once_the_item_mirror_is_complete() {
    let lane = DemoLane::start().await.unwrap();
    let base = lane.api_url.clone();
    let mirror = Mirror::open(MirrorOptions::new(mirror_path(
        &lane.dir.path().join("agent.db"),
    )))
    .await
    .unwrap();
    // The agent's first sync pass (run at start) completes the item mirror.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(50));
    while !mirror.is_complete(Entity::Item).await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror never completed"
        );
        ticks.tick().await;
    }

    let (st, e) = send(
        &base,
        "/v1/sales",
        Some(json!({"sale_id": "sku-1", "lines": [
            {"sku": "1000001", "quantity": "1", "unit_price": "9.99"},
            {"sku": "NO-SUCH-SKU", "quantity": "1", "unit_price": "1.00"}
        ]})),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["code"], "unknown_sku", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NO-SUCH-SKU"),
        "{e}"
    );
    // Nothing was opened.
    let (st, e) = send(&base, "/v1/sales/sku-1", None).await;
    assert_eq!(st, 404, "{e}");

    let (st, v) = send(
        &base,
        "/v1/sales",
        Some(json!({"sale_id": "sku-2", "lines": [
            {"sku": "1000001", "quantity": "1", "unit_price": "9.99"}
        ]})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["total"], "9.99", "{v}");
    lane.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_sku_is_a_warning_while_the_item_mirror_loads() {
    let dir = tempfile::tempdir().unwrap();
    let m = Mirror::open(MirrorOptions::new(mirror_path(
        &dir.path().join("agent.db"),
    )))
    .await
    .unwrap();
    let src = FakeCatalog::with_items(300);
    // The first load stops after one page of items.
    src.fault_at(
        Entity::Item,
        1,
        FakeFault::Fail(SourceError::Unavailable("down".into())),
    );
    sync_once(&m, &src, 100, None).await.unwrap();
    assert!(!m.is_complete(Entity::Item).await.unwrap());

    let w = check_sale_skus(&m, &["SKU-000001", "NOT-YET"])
        .await
        .unwrap();
    assert_eq!(
        w,
        vec![SkuWarning::MirrorLoading {
            sku: "NOT-YET".into()
        }]
    );

    sync_once(&m, &src, 100, None).await.unwrap();
    assert!(m.is_complete(Entity::Item).await.unwrap());
    assert_eq!(check_sale_skus(&m, &["SKU-000150"]).await.unwrap(), vec![]);
    match check_sale_skus(&m, &["SKU-000001", "NOT-YET"]).await {
        Err(BackendError::Invalid { code, message }) => {
            assert_eq!(code, "unknown_sku");
            assert!(message.contains("NOT-YET"), "{message}");
            assert!(!message.contains("SKU-000001"), "{message}");
        }
        other => panic!("expected unknown_sku, got {other:?}"),
    }
}
