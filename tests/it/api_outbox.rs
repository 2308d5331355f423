//! The operator routes over real HTTP: show, hold, resolve and flush of outbox items, with
//! the bearer check, unknown ids, bad bodies and the state conflicts.

use crate::support::api::TestApi;
use lane_agent::api::types::OutboxState;
use serde_json::json;

/// Completes a cash sale, which queues one purchase item; returns the item's id.
async fn queued_purchase(api: &TestApi, sale_id: &str) -> String {
    api.open_sale(json!({"sale_id": sale_id, "lines": [
        {"sku": "MILK-1L", "quantity": "1", "unit_price": "1.19"}
    ]}))
    .await;
    let p = api
        .post(
            &format!("/v1/sales/{sale_id}/payments"),
            json!({"method": "cash", "amount": "1.19"}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let c = api
        .post(&format!("/v1/sales/{sale_id}/complete"), json!({}))
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let list = api.get("/v1/outbox").await;
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sale_id"] == sale_id)
        .expect("a purchase item for the sale")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn operator_routes_need_the_token_and_change_nothing_without_it() {
    let api = TestApi::start().await;
    let id = queued_purchase(&api, "op-auth").await;
    let before = api.backend.mutations();
    for (method, path, body) in [
        ("GET", format!("/v1/outbox/{id}"), ""),
        ("POST", format!("/v1/outbox/{id}/hold"), ""),
        (
            "POST",
            format!("/v1/outbox/{id}/resolve"),
            r#"{"resolution":"recorded"}"#,
        ),
        ("POST", "/v1/outbox/flush".to_owned(), ""),
    ] {
        for token in [None, Some("wrong-token")] {
            let mut req = api
                .client
                .request(method.parse().unwrap(), api.url(&path))
                .header("content-type", "application/json")
                .body(body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {token:?}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v["error"]["code"].is_string(), "{v}");
        }
    }
    assert_eq!(api.backend.mutations(), before);
    assert_eq!(api.backend.outbox_state(&id), Some(OutboxState::Pending));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let api = TestApi::start().await;
    let a = api.get("/v1/outbox/no-such-item").await;
    assert_eq!((a.status, a.code()), (404, "outbox_item_not_found"));
    let a = api.post("/v1/outbox/no-such-item/hold", json!({})).await;
    assert_eq!((a.status, a.code()), (404, "outbox_item_not_found"));
    let a = api
        .post(
            "/v1/outbox/no-such-item/resolve",
            json!({"resolution": "resend"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (404, "outbox_item_not_found"));
    let a = api.get("/v1/outbox/bad%20id").await;
    assert_eq!((a.status, a.code()), (400, "invalid_id"));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn show_hold_and_flush_a_pending_item() {
    let api = TestApi::start().await;
    let id = queued_purchase(&api, "op-hold").await;
    let a = api.get(&format!("/v1/outbox/{id}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        (a.body["id"].as_str(), &a.body["state"]),
        (Some(id.as_str()), &json!("pending"))
    );
    assert_eq!(a.body["kind"], "purchase");

    let a = api.post(&format!("/v1/outbox/{id}/hold"), json!({})).await;
    assert_eq!((a.status, &a.body["state"]), (200, &json!("held")));
    assert_eq!(api.get("/v1/status").await.body["outbox"]["held"], 1);
    // Holding a held item is a conflict and leaves it held.
    let a = api.post(&format!("/v1/outbox/{id}/hold"), json!({})).await;
    assert_eq!((a.status, a.code()), (409, "outbox_item_not_holdable"));
    // A held item is not in doubt: resolving it is refused.
    let a = api
        .post(
            &format!("/v1/outbox/{id}/resolve"),
            json!({"resolution": "recorded"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "outbox_item_not_resolvable"));
    assert_eq!(api.backend.outbox_state(&id), Some(OutboxState::Held));

    let a = api.post("/v1/outbox/flush", json!({})).await;
    assert_eq!((a.status, &a.body), (200, &json!({"released": 1})));
    assert_eq!(api.backend.outbox_state(&id), Some(OutboxState::Pending));
    let a = api.post("/v1/outbox/flush", json!({})).await;
    assert_eq!((a.status, &a.body), (200, &json!({"released": 0})));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn resolve_an_in_doubt_item_recorded_or_resend() {
    let api = TestApi::start().await;
    let a_id = queued_purchase(&api, "op-rec").await;
    let b_id = queued_purchase(&api, "op-res").await;
    // A pending item is not in doubt.
    let a = api
        .post(
            &format!("/v1/outbox/{a_id}/resolve"),
            json!({"resolution": "recorded"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "outbox_item_not_resolvable"));
    assert_eq!(api.backend.outbox_state(&a_id), Some(OutboxState::Pending));

    api.backend.set_outbox_state(&a_id, OutboxState::InDoubt);
    api.backend.set_outbox_state(&b_id, OutboxState::InDoubt);
    // Bad bodies change nothing.
    for (body, code) in [
        (json!({"resolution": "maybe"}), "invalid_resolution"),
        (json!({}), "missing_field"),
        (
            json!({"resolution": "recorded", "force": true}),
            "unknown_field",
        ),
    ] {
        let a = api.post(&format!("/v1/outbox/{a_id}/resolve"), body).await;
        assert_eq!((a.status, a.code()), (422, code));
    }
    assert_eq!(api.backend.outbox_state(&a_id), Some(OutboxState::InDoubt));

    let a = api
        .post(
            &format!("/v1/outbox/{a_id}/resolve"),
            json!({"resolution": "recorded"}),
        )
        .await;
    assert_eq!((a.status, &a.body["state"]), (200, &json!("confirmed")));
    let b = api
        .post(
            &format!("/v1/outbox/{b_id}/resolve"),
            json!({"resolution": "resend"}),
        )
        .await;
    assert_eq!((b.status, &b.body["state"]), (200, &json!("pending")));
    // Resolved once; a second verdict is a conflict.
    let a = api
        .post(
            &format!("/v1/outbox/{a_id}/resolve"),
            json!({"resolution": "resend"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "outbox_item_not_resolvable"));
    assert_eq!(
        api.backend.outbox_state(&a_id),
        Some(OutboxState::Confirmed)
    );
    api.stop().await.unwrap();
}

#[tokio::test]
async fn exceptions_are_listed_and_a_payment_in_doubt_needs_a_resolution() {
    let api = TestApi::start().await;
    let id = api
        .backend
        .raise_exception("payment_in_doubt", Some("pay-1"));
    let other = api.backend.raise_exception("forward_declined", None);
    let list = api.get("/v1/exceptions").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["exceptions"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["exceptions"][0]["kind"], "payment_in_doubt");

    let bare = api
        .post(&format!("/v1/exceptions/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!((bare.status, bare.code()), (409, "resolution_required"));
    for (body, status, code) in [
        (json!({"resolution": "maybe"}), 422, ""),
        (json!({"resolution": "approved", "extra": 1}), 422, ""),
        (json!({"note": "a\u{0007}b"}), 400, "invalid_note"),
    ] {
        let r = api
            .post(&format!("/v1/exceptions/{id}/acknowledge"), body)
            .await;
        assert_eq!(r.status, status, "{}", r.body);
        if !code.is_empty() {
            assert_eq!(r.code(), code);
        }
    }
    let bad_id = api.post("/v1/exceptions/abc/acknowledge", json!({})).await;
    assert_eq!((bad_id.status, bad_id.code()), (400, "invalid_id"));
    let unknown = api.post("/v1/exceptions/99/acknowledge", json!({})).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "exception_not_found")
    );

    let ok = api
        .post(
            &format!("/v1/exceptions/{id}/acknowledge"),
            json!({"resolution": "not_approved", "note": "terminal journal shows no approval"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["resolution"], "not_approved");
    assert!(ok.body["acknowledged_at"].is_string());
    let again = api
        .post(
            &format!("/v1/exceptions/{id}/acknowledge"),
            json!({"resolution": "approved"}),
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
    let plain = api
        .post(&format!("/v1/exceptions/{other}/acknowledge"), json!({}))
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    let list = api.get("/v1/exceptions").await;
    assert_eq!(list.body["exceptions"].as_array().unwrap().len(), 0);
    api.stop().await.unwrap();
}
