//! `POST /v1/giftcards/replace-code` over real HTTP with the fake backend: off by default,
//! strict bodies, masked answers.

use crate::support::api::TestApi;
use lane_agent::api::ApiOptions;
use serde_json::json;

const PATH: &str = "/v1/giftcards/replace-code";
const NEW_CODE: &str = "6006497777771234";

fn allowed() -> ApiOptions {
    ApiOptions {
        giftcard_replace_code: true,
        ..ApiOptions::default()
    }
}

#[tokio::test]
async fn refused_by_default_before_anything_reaches_the_backend() {
    let api = TestApi::start().await;
    let a = api
        .post(
            PATH,
            json!({"card_id": "GC1", "new_code": NEW_CODE, "new_pin": "4711"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (403, "permission_denied"));
    assert!(!a.body.to_string().contains(NEW_CODE));
    assert!(!a.body.to_string().contains("4711"));
    assert_eq!(api.backend.mutations(), 0);
    assert_eq!(api.backend.card_code("GC1").unwrap(), "6006491111111111");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn replaces_the_code_and_answers_it_masked() {
    let api = TestApi::start_with(allowed()).await;
    let a = api
        .post(
            PATH,
            json!({"card_id": "GC2", "new_code": NEW_CODE, "new_pin": "4711"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, json!({"card_id": "GC2", "code": "****1234"}));
    assert_eq!(api.backend.card_code("GC2").unwrap(), NEW_CODE);
    // The balance moved with the card: the new code answers it, the old one is gone.
    let b = api
        .get(&format!("/v1/giftcards/balance?code={NEW_CODE}"))
        .await;
    assert_eq!((b.status, b.body["balance"].as_str()), (200, Some("20.00")));
    assert_eq!(api.backend.card_balance("6006492222222222"), None);
    // Without a PIN is fine too.
    let a = api
        .post(
            PATH,
            json!({"card_id": "GC1", "new_code": "ABCD-0000-9876"}),
        )
        .await;
    assert_eq!(a.body, json!({"card_id": "GC1", "code": "****9876"}));
    api.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_cards_and_taken_codes_are_typed_errors() {
    let api = TestApi::start_with(allowed()).await;
    let a = api
        .post(PATH, json!({"card_id": "GC99", "new_code": NEW_CODE}))
        .await;
    assert_eq!((a.status, a.code()), (404, "giftcard_not_found"));
    let a = api
        .post(
            PATH,
            json!({"card_id": "GC1", "new_code": "6006492222222222"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "code_taken"));
    assert!(!a.body.to_string().contains("6006492222222222"));
    assert_eq!(api.backend.card_code("GC1").unwrap(), "6006491111111111");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn bad_bodies_are_refused_and_change_nothing() {
    let api = TestApi::start_with(allowed()).await;
    let cases = [
        (json!({"new_code": NEW_CODE}), "missing_field"),
        (json!({"card_id": "GC1"}), "missing_field"),
        (
            json!({"card_id": "GC1", "new_code": NEW_CODE, "pin": "1234"}),
            "unknown_field",
        ),
        (
            json!({"card_id": "", "new_code": NEW_CODE}),
            "invalid_card_id",
        ),
        (
            json!({"card_id": "GC 1", "new_code": NEW_CODE}),
            "invalid_card_id",
        ),
        (json!({"card_id": "GC1", "new_code": "123"}), "invalid_code"),
        (
            json!({"card_id": "GC1", "new_code": format!("{NEW_CODE}!")}),
            "invalid_code",
        ),
        (
            json!({"card_id": "GC1", "new_code": "A".repeat(65)}),
            "invalid_code",
        ),
        (
            json!({"card_id": "GC1", "new_code": NEW_CODE, "new_pin": "12ab"}),
            "invalid_pin",
        ),
        (
            json!({"card_id": "GC1", "new_code": NEW_CODE, "new_pin": 1234}),
            "invalid_type",
        ),
    ];
    for (body, code) in cases {
        let a = api.post(PATH, body.clone()).await;
        assert_eq!(a.status, 422, "{body}: {}", a.body);
        if code != "invalid_type" {
            assert_eq!(a.code(), code, "{body}");
        }
        assert!(!a.body.to_string().contains(NEW_CODE), "{body}");
    }
    let a = api.post_raw(PATH, "{\"card_id\":").await;
    assert_eq!(a.status, 400);
    assert_eq!(api.backend.mutations(), 0);
    assert_eq!(api.backend.card_code("GC1").unwrap(), "6006491111111111");
    api.stop().await.unwrap();
}

#[tokio::test]
async fn needs_the_bearer_token() {
    let api = TestApi::start_with(allowed()).await;
    let body = json!({"card_id": "GC1", "new_code": NEW_CODE}).to_string();
    let r = api
        .client
        .post(api.url(PATH))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .client
        .post(api.url(PATH))
        .bearer_auth("wrong-token-0000000")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(api.backend.mutations(), 0);
    api.stop().await.unwrap();
}
