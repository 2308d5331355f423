//! Bad input over real HTTP: auth, malformed or unknown JSON, out-of-range values, unknown
//! routes. Each gets a 4xx with a typed code and reaches the backend not at all.

use crate::support::api::{TOKEN, TestApi};
use lane_agent::api::{ApiOptions, route_specs};
use serde_json::{Value, json};

#[tokio::test]
async fn every_route_but_health_needs_the_token() {
    let api = TestApi::start().await;
    for spec in route_specs() {
        let path = spec
            .path
            .replace("{id}", "x")
            .replace("{sku}", "x")
            .replace("{member_id}", "x");
        let request = |token: Option<&str>| {
            let mut r = api
                .client
                .request(spec.method.parse().unwrap(), api.url(&path));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.header("content-type", "application/json").body("{}")
        };
        let before = api.backend.mutations();
        let missing = request(None).send().await.unwrap();
        let wrong = request(Some("lane-test-token-6a1f0d"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            api.backend.mutations(),
            before,
            "refused requests reach no backend"
        );
        let right = request(Some(TOKEN)).send().await.unwrap();
        if spec.public {
            assert_eq!(missing.status(), 200, "{path}");
            continue;
        }
        assert_eq!(missing.status(), 401, "{path}");
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            missing.json::<Value>().await.unwrap()["error"]["code"],
            "unauthorized",
            "{path}"
        );
        assert_eq!(wrong.status(), 401, "{path}");
        assert_eq!(
            wrong.json::<Value>().await.unwrap()["error"]["code"],
            "invalid_token",
            "{path}"
        );
        assert_ne!(right.status(), 401, "{path}");
    }
    // Other schemes and an empty bearer are refused too.
    for header in ["Basic bGFuZTp4", "Bearer ", "Bearer"] {
        let r = api
            .client
            .get(api.url("/v1/status"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header}");
    }
    api.stop().await.unwrap();
}

async fn sale_error(api: &TestApi, body: &str) -> (u16, String) {
    let a = api.post_raw("/v1/sales", body.to_owned()).await;
    (a.status, a.code().to_owned())
}

#[tokio::test]
async fn malformed_sales_are_refused_before_the_backend() {
    let api = TestApi::start().await;
    let line = |q: &str, p: &str| {
        format!(r#"{{"lines":[{{"sku":"A","quantity":"{q}","unit_price":"{p}"}}]}}"#)
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"lines\": [".into(), 400, "invalid_json"),
        ("not json".into(), 400, "invalid_json"),
        ("".into(), 400, "invalid_json"),
        ("[]".into(), 422, "invalid_body"),
        (
            r#"{"lines":[],"discount":"5"}"#.into(),
            422,
            "unknown_field",
        ),
        (
            r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1","colour":"red"}]}"#.into(),
            422,
            "unknown_field",
        ),
        (r#"{"lines":[]}"#.into(), 422, "empty_lines"),
        (r#"{}"#.into(), 422, "missing_field"),
        (line("0", "1.00"), 422, "invalid_quantity"),
        (line("-2", "1.00"), 422, "invalid_quantity"),
        (line("1.0001", "1.00"), 422, "invalid_quantity"),
        (line("1000000", "1.00"), 422, "invalid_quantity"),
        (line("many", "1.00"), 422, "invalid_quantity"),
        (line("1", "-1.00"), 422, "invalid_amount"),
        (line("1", "1.005"), 400, "amount_precision"),
        (line("1", "100000.01"), 422, "invalid_amount"),
        (line("1", "1e3"), 422, "invalid_amount"),
        (
            r#"{"lines":[{"sku":"A","quantity":1,"unit_price":"1.00"}]}"#.into(),
            422,
            "invalid_quantity",
        ),
        (
            r#"{"lines":[{"sku":"A","quantity":"1","unit_price":1.1}]}"#.into(),
            422,
            "invalid_amount",
        ),
        (
            r#"{"lines":[{"sku":"","quantity":"1","unit_price":"1.00"}]}"#.into(),
            422,
            "invalid_sku",
        ),
        (
            r#"{"sale_id":"has space","lines":[{"sku":"A","quantity":"1","unit_price":"1.00"}]}"#
                .into(),
            422,
            "invalid_id",
        ),
        (
            r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1.00"}],"tax":"-1"}"#.into(),
            422,
            "invalid_amount",
        ),
    ];
    for (body, status, code) in cases {
        assert_eq!(
            sale_error(&api, &body).await,
            (status, code.to_owned()),
            "{body}"
        );
    }
    let too_many =
        json!({"lines": vec![json!({"sku": "A", "quantity": "1", "unit_price": "1.00"}); 501]});
    assert_eq!(
        sale_error(&api, &too_many.to_string()).await,
        (422, "too_many_lines".to_owned())
    );
    assert_eq!(api.backend.mutations(), 0);
    api.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_payments_leave_the_sale_unchanged() {
    let api = TestApi::start().await;
    api.open_sale(
        json!({"sale_id": "s1", "lines": [{"sku": "A", "quantity": "1", "unit_price": "10.00"}]}),
    )
    .await;
    let before = api.get("/v1/sales/s1").await.body;
    let calls = api.backend.mutations();
    let cases = [
        (json!({"method": "cash", "amount": "0"}), "invalid_amount"),
        (
            json!({"method": "cash", "amount": "-5.00"}),
            "invalid_amount",
        ),
        (
            json!({"method": "cash", "amount": "999999999.00"}),
            "invalid_amount",
        ),
        (json!({"method": "cash", "amount": 5}), "invalid_amount"),
        (json!({"method": "cash"}), "missing_field"),
        (
            json!({"method": "crypto", "amount": "1.00"}),
            "invalid_method",
        ),
        (
            json!({"method": "cash", "amount": "1.00", "tip": "1.00"}),
            "unknown_field",
        ),
        (
            json!({"method": "card", "amount": "1.00", "code": "6006491111111111"}),
            "invalid_code",
        ),
        (
            json!({"method": "giftcard", "amount": "1.00", "code": "60!"}),
            "invalid_code",
        ),
        (
            json!({"method": "giftcard", "amount": "1.00", "pin": "1234"}),
            "invalid_pin",
        ),
        (
            json!({"method": "giftcard", "amount": "1.00", "code": "6006491111111111", "pin": "abcd"}),
            "invalid_pin",
        ),
        (
            json!({"method": "cash", "amount": "1.00", "payment_id": "../etc"}),
            "invalid_id",
        ),
    ];
    // More decimals than the lane's currency has: 400 (issue 12).
    let a = api
        .post(
            "/v1/sales/s1/payments",
            json!({"method": "cash", "amount": "1.001"}),
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "amount_precision"));
    for (body, code) in cases {
        let a = api.post("/v1/sales/s1/payments", body.clone()).await;
        assert_eq!((a.status, a.code()), (422, code), "{body}");
        assert!(
            !a.body.to_string().contains("6006491111111111"),
            "{}",
            a.body
        );
    }
    let bad_id = api
        .post(
            "/v1/sales/bad%20id/payments",
            json!({"method": "cash", "amount": "1.00"}),
        )
        .await;
    assert_eq!((bad_id.status, bad_id.code()), (400, "invalid_id"));
    assert_eq!(api.backend.mutations(), calls);
    assert_eq!(api.get("/v1/sales/s1").await.body, before);
    api.stop().await.unwrap();
}

#[tokio::test]
async fn bodies_are_bounded_typed_and_json_only() {
    let api = TestApi::start().await;
    let huge = format!(r#"{{"lines":[],"pad":"{}"}}"#, "x".repeat(200 * 1024));
    let a = api.post_raw("/v1/sales", huge).await;
    assert_eq!((a.status, a.code()), (413, "body_too_large"));

    let r = api
        .client
        .post(api.url("/v1/sales"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1.00"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unsupported_media_type"
    );

    let g = api
        .post(
            "/v1/giftcards/activate",
            json!({"code": "6006491111111111", "amount": "-1"}),
        )
        .await;
    assert_eq!((g.status, g.code()), (422, "invalid_amount"));
    let g = api
        .post(
            "/v1/giftcards/reload",
            json!({"amount": "1.00", "pin": "1234"}),
        )
        .await;
    assert_eq!((g.status, g.code()), (422, "unknown_field"));
    let b = api.get("/v1/giftcards/balance").await;
    assert_eq!((b.status, b.code()), (400, "missing_field"));
    let b = api
        .get("/v1/giftcards/balance?code=6006491111111111&pin=1")
        .await;
    assert_eq!((b.status, b.code()), (400, "unknown_field"));
    let b = api.get("/v1/giftcards/balance?code=%00%01").await;
    assert_eq!((b.status, b.code()), (422, "invalid_code"));
    assert_eq!(api.backend.mutations(), 0);
    api.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_methods_and_paths_get_the_error_shape() {
    let api = TestApi::start().await;
    let a = api.get("/v1/nothing").await;
    assert_eq!((a.status, a.code()), (404, "route_not_found"));
    let r = api
        .client
        .delete(api.url("/v1/sales/s1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
    let a = api.get(&format!("/v1/sales/{}", "x".repeat(65))).await;
    assert_eq!((a.status, a.code()), (400, "invalid_id"));
    let a = api.get("/v1/items/%20LEADING").await;
    assert_eq!((a.status, a.code()), (400, "invalid_sku"));
    let a = api.get("/v1/members/not%20an%20id").await;
    assert_eq!((a.status, a.code()), (400, "invalid_id"));
    let a = api.get("/v1/items/%FF").await;
    assert_eq!(a.status, 400);
    api.stop().await.unwrap();
}

#[tokio::test]
async fn lane_options_bound_bodies_and_deny_card_loads() {
    let api = TestApi::start_with(ApiOptions {
        max_body_bytes: 1024,
        giftcard_edit: false,
        ..ApiOptions::default()
    })
    .await;
    for path in ["/v1/giftcards/activate", "/v1/giftcards/reload"] {
        let a = api
            .post(path, json!({"code": "6006491111111111", "amount": "5.00"}))
            .await;
        assert_eq!((a.status, a.code()), (403, "forbidden"), "{path}");
    }
    assert_eq!(api.backend.mutations(), 0);
    let lines: Vec<Value> = (0..40)
        .map(|i| json!({"sku": format!("SKU-{i}"), "quantity": "1", "unit_price": "1.00"}))
        .collect();
    let body = json!({ "lines": lines }).to_string();
    assert!(body.len() > 1024);
    let a = api.post_raw("/v1/sales", body).await;
    assert_eq!((a.status, a.code()), (413, "body_too_large"));
    // Balance enquiries stay allowed.
    assert_eq!(
        api.get("/v1/giftcards/balance?code=6006491111111111")
            .await
            .status,
        200
    );
    api.stop().await.unwrap();
}

/// A backend whose terminal does not settle at the lane (here: none) answers the end of
/// day with 409 `end_of_day_not_applicable`, the hook a `pos` terminal uses (issue 12).
#[tokio::test]
async fn end_of_day_without_a_settling_terminal_is_a_409() {
    let api = TestApi::start().await;
    let a = api.post("/v1/terminal/end-of-day", json!({})).await;
    assert_eq!((a.status, a.code()), (409, "end_of_day_not_applicable"));
    api.stop().await.unwrap();
}
