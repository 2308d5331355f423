//! The client against scripted HTTP peers (wiremock and raw TCP): auth retry, status codes,
//! timeouts, malformed and oversized answers, and the wire format of requests.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::*;
use pos_client::*;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn graphql_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/graphql")
        .collect()
}

fn env_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"data": {"environment": {"name": "test", "version": "1.2.3"}}}))
}

fn purchase() -> PurchaseRequest {
    PurchaseRequest {
        transaction_id: "LANE01-000001".into(),
        store_code: "DALLAS".into(),
        purchased_on: "2021-09-15T04:50:00".into(),
        pay_amount: dec("12.34"),
        sale_discount_amount: dec("0"),
        item_discount_amount: dec("0.00"),
        sub_total: dec("12.34"),
        refund_amount: dec("0"),
        tax_amount: dec("0.99"),
        line_items: vec![PurchaseLine {
            line_number: 1,
            sku: "SKU-1".into(),
            is_refund: false,
            unit_price: dec("12.34"),
            ext_price: dec("12.34"),
            item_discount_amount: dec("0"),
            sale_discount_amount: dec("0"),
            quantity: dec("1"),
            uom: "EA".into(),
        }],
        channel: None,
        member_id: Some("000010049".into()),
        order_type: None,
        pay_method: Some("CASH".into()),
        customer_id: None,
        email: None,
    }
}

fn redeem(code: &str, pin: Option<&str>) -> GiftcardTransRequest {
    GiftcardTransRequest {
        code_type: Some(CodeType::Physical),
        code: GiftCode::new(code),
        pin: pin.map(|p| SecretString::from(p.to_owned())),
        trans_type: TransType::Use,
        amount: dec("-6.49"),
        source_id: Some("LANE01".into()),
        ref_no: Some("LANE01-42".into()),
        authorize: true,
    }
}

#[tokio::test]
async fn environment_sends_bearer_and_graphql_body() {
    let server = MockServer::start().await;
    let (client, tokens, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(env_ok())
        .mount(&server)
        .await;
    let env = client.environment().await.unwrap();
    assert_eq!(
        env,
        Environment {
            name: "test".into(),
            version: "1.2.3".into()
        }
    );
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
    let reqs = graphql_requests(&server).await;
    let body: Value = reqs[0].body_json().unwrap();
    assert_eq!(body["operationName"], "Environment");
    assert!(body["query"].as_str().unwrap().contains("environment"));
    // A second call reuses the cached token.
    client.environment().await.unwrap();
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
    assert_eq!(client.token_fetches(), 1);
}

#[tokio::test]
async fn http_401_refreshes_once_and_retries_once() {
    let server = MockServer::start().await;
    let (client, tokens, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(env_ok())
        .mount(&server)
        .await;
    client.environment().await.unwrap();
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    assert_eq!(graphql_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn not_authenticated_twice_is_a_configuration_error_after_one_retry() {
    let server = MockServer::start().await;
    let (client, tokens, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"purchaseAdd": null},
            "errors": [{"message": "no", "extensions": {"code": "NOT_AUTHENTICATED"}}]})))
        .mount(&server)
        .await;
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert!(matches!(err, PosError::NotAuthenticated { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Configuration);
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "exactly one refresh");
    assert_eq!(
        graphql_requests(&server).await.len(),
        2,
        "exactly one retry"
    );
}

#[tokio::test]
async fn server_errors_are_unknown_for_mutations_and_transient_for_queries() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    let err = client.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(
        graphql_requests(&server).await.len(),
        2,
        "no hidden retries"
    );
}

#[tokio::test]
async fn timeout_after_sending_is_outcome_unknown() {
    let server = MockServer::start().await;
    mount_idp(&server, 300).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(env_ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), &format!("{}/graphql", server.uri()));
    cfg.request_timeout = Duration::from_millis(400);
    cfg.connect_timeout = Duration::from_millis(400);
    let client = PosClient::new(cfg).unwrap();
    // The first call spends its budget on discovery + token + the slow POST; the answer
    // never arrives in time.
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert!(matches!(err, PosError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}

#[tokio::test]
async fn connection_refused_is_not_sent() {
    let server = MockServer::start().await;
    mount_idp(&server, 300).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let client = PosClient::new(config(
        &server.uri(),
        &format!("http://127.0.0.1:{port}/graphql"),
    ))
    .unwrap();
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert!(matches!(err, PosError::NotSent { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn identity_provider_down_is_not_sent() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let issuer = format!("http://127.0.0.1:{port}");
    let client = PosClient::new(config(&issuer, "http://127.0.0.1:1/graphql")).unwrap();
    let err = client.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotSent, "{err:?}");
}

#[tokio::test]
async fn reset_after_request_is_outcome_unknown() {
    let server = MockServer::start().await;
    mount_idp(&server, 300).await;
    let url = raw_server(|sock| async move { drop(sock) }).await;
    let client = PosClient::new(config(&server.uri(), &url)).unwrap();
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert!(matches!(err, PosError::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test]
async fn html_answer_is_bad_response() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .mount(&server)
        .await;
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("HTML"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_and_without_length() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    let huge = format!(
        r#"{{"data":{{"environment":{{"name":"{}","version":"1"}}}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::BadResponse { .. }), "{err:?}");

    // Chunked, no Content-Length, never ending: the reader must stop at the limit.
    let url = raw_server(endless_chunks).await;
    let client = PosClient::new(config(&server.uri(), &url)).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), client.environment())
        .await
        .expect("bounded reader returns")
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn missing_data_and_wrong_types() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"purchaseAdd": null}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"giftcardTransAdd":
            {"id": "T1", "giftcardId": "G1", "balance": 3.51, "status": "AUTHORIZED", "amount": "-6.49"}}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let err = client
        .giftcard_trans_add(&redeem("6006491234567890", None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PosError::BadResponse { .. }),
        "a float balance is refused: {err:?}"
    );
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
}

#[tokio::test]
async fn nested_errors_with_data_are_success() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"purchaseAdd": {"id": "P-77"}},
            "errors": [{"message": "loyalty", "path": ["purchaseAdd", "points"], "extensions": {"code": "FUSION_ERROR"}}]})))
        .mount(&server)
        .await;
    assert_eq!(
        client.purchase_add(&purchase()).await.unwrap(),
        PurchaseId("P-77".into())
    );
}

#[tokio::test]
async fn amounts_travel_as_strings() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"purchaseAdd": {"id": "P-1"}}})),
        )
        .mount(&server)
        .await;
    client.purchase_add(&purchase()).await.unwrap();
    let body: Value = graphql_requests(&server).await[0].body_json().unwrap();
    let add = &body["variables"]["add"];
    assert_eq!(add["payAmount"], "12.34");
    assert_eq!(add["taxAmount"], "0.99");
    assert_eq!(add["lineItems"][0]["quantity"], "1");
    assert_eq!(add["lineItems"][0]["lineNumber"], 1);
    assert_eq!(body["operationName"], "PurchaseAdd");
}

#[tokio::test]
async fn declines_never_leak_code_or_pin() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"giftcardTransAdd": null},
            "errors": [{"message": "Card 6006491234567890 pin 8642 is wrong", "path": ["giftcardTransAdd"],
                "extensions": {"code": "VALIDATION", "data": {"ValidationType": "InvalidPin", "Property": "Pin"}}}]})))
        .mount(&server)
        .await;
    let req = redeem("6006491234567890", Some("8642"));
    let err = client.giftcard_trans_add(&req).await.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidPin));
    let shown = format!("{err} {err:?} {req:?}");
    assert!(!shown.contains("6006491234567890"), "{shown}");
    assert!(!shown.contains("8642"), "{shown}");
    // The wire body of course carries them (to the API only).
    let body: Value = graphql_requests(&server).await[0].body_json().unwrap();
    assert_eq!(body["variables"]["trans"]["code"], "6006491234567890");
    assert_eq!(body["variables"]["trans"]["pin"], "8642");
    assert_eq!(body["variables"]["trans"]["amount"], "-6.49");
    assert_eq!(body["variables"]["trans"]["authorize"], true);
}

#[tokio::test]
async fn token_is_refreshed_at_80_percent_and_kept_when_refresh_fails() {
    let server = MockServer::start().await;
    mount_discovery(&server).await;
    // First token works; every later token request fails.
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-1", "token_type": "Bearer", "expires_in": 100})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("busy", "text/plain"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(env_ok())
        .mount(&server)
        .await;
    let clock = std::sync::Arc::new(ManualClock::default());
    let client = PosClient::with_clock(
        config(&server.uri(), &format!("{}/graphql", server.uri())),
        clock.clone(),
    )
    .unwrap();
    let token_posts =
        |reqs: &[wiremock::Request]| reqs.iter().filter(|r| r.url.path() == "/token").count();

    client.environment().await.unwrap();
    clock.advance(Duration::from_secs(70)); // 70% of the lifetime: no refresh yet
    client.environment().await.unwrap();
    assert_eq!(token_posts(&server.received_requests().await.unwrap()), 1);

    clock.advance(Duration::from_secs(15)); // 85%: refresh attempted, fails, old token kept
    client.environment().await.unwrap();
    assert_eq!(token_posts(&server.received_requests().await.unwrap()), 2);

    // Right after a failed renewal the next call does not hammer the IdP again.
    client.environment().await.unwrap();
    assert_eq!(token_posts(&server.received_requests().await.unwrap()), 2);

    clock.advance(Duration::from_secs(20)); // 105%: expired, refresh fails → no token
    let err = client.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotSent, "{err:?}");
    assert_eq!(
        graphql_requests(&server).await.len(),
        4,
        "nothing sent without a token"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let server = MockServer::start().await;
    let (client, tokens, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(env_ok())
        .mount(&server)
        .await;
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.environment().await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalid_client_and_issuer_mismatch_are_configuration_errors() {
    let server = MockServer::start().await;
    mount_discovery(&server).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "client authentication failed"})))
        .mount(&server)
        .await;
    let client =
        PosClient::new(config(&server.uri(), &format!("{}/graphql", server.uri()))).unwrap();
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::InvalidClient), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Configuration);

    // Same server, issuer spelled with a trailing slash: must not match.
    let client = PosClient::new(config(
        &format!("{}/", server.uri()),
        &format!("{}/graphql", server.uri()),
    ))
    .unwrap();
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn no_redirects_are_followed() {
    let server = MockServer::start().await;
    let (client, _, _) = client_on(&server).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://127.0.0.1:9/steal"),
        )
        .mount(&server)
        .await;
    let err = client.purchase_add(&purchase()).await.unwrap_err();
    assert!(
        matches!(err, PosError::HttpStatus { status: 307, .. }),
        "{err:?}"
    );
}

#[test]
fn config_is_validated_without_io() {
    let mut cfg = config(
        "https://pos.example.com",
        "http://pos.example.com/api/graphql",
    );
    let err = PosClient::new(cfg.clone()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Configuration);
    cfg.graphql_url = "https://pos.example.com/api/graphql".into();
    PosClient::new(cfg).unwrap();
}

/// T6.3: 60 s tokens over a (manually clocked) hour: about one token per 48 s, and the API
/// never sees an expired token.
#[tokio::test]
async fn an_hour_of_60_second_tokens() {
    let server = MockServer::start().await;
    let tokens = mount_idp(&server, 60).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(env_ok())
        .mount(&server)
        .await;
    let clock = std::sync::Arc::new(ManualClock::default());
    let client = PosClient::with_clock(
        config(&server.uri(), &format!("{}/graphql", server.uri())),
        clock.clone(),
    )
    .unwrap();
    // (token number, clock second) of every call, to check each token's age when used.
    let mut issued_at = std::collections::HashMap::new();
    for second in (0..3600u64).step_by(4) {
        client.environment().await.unwrap();
        let n = tokens.load(Ordering::SeqCst);
        let first_use = *issued_at.entry(n).or_insert(second);
        assert!(
            second - first_use < 60,
            "token {n} used at age {}",
            second - first_use
        );
        clock.advance(Duration::from_secs(4));
    }
    let fetched = tokens.load(Ordering::SeqCst);
    // Renewal at 48 s, seen at the next 4 s call tick: one token per 48 s.
    assert!((74..=76).contains(&fetched), "{fetched} tokens in an hour");
}
