//! Every fault kind, observed by raw clients.

use std::time::{Duration, Instant};

use crate::support::pos::*;
use hardware_sim::pos::{Fault, FaultKind, FaultTarget, Ledger, PosSim};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn on(operation: &str, kind: FaultKind, times: Option<u32>) -> Fault {
    Fault {
        target: FaultTarget::Operation(operation.into()),
        kind,
        times,
    }
}

async fn send_purchase(sim: &PosSim, t: &str, id: &str) -> reqwest::Result<reqwest::Response> {
    http()
        .post(sim.graphql_url())
        .bearer_auth(t)
        .json(&json!({"query": PURCHASE_ADD, "variables": {"a": purchase(id)}}))
        .send()
        .await
}

/// Sends one request on a raw socket and returns every byte the server wrote back,
/// or the read error.
async fn raw_exchange(sim: &PosSim, t: &str, body: &Value) -> std::io::Result<Vec<u8>> {
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await?;
    let request = format!(
        "POST /api/graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        sim.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(answer)
}

fn purchases(ledger: &Ledger, id: &str) -> usize {
    ledger.purchases_with(id).len()
}

#[tokio::test]
async fn offline_refuses_connects_and_online_serves_the_same_port_again() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    control.set_online(false).await;
    assert!(!control.is_online().await);
    let err = tokio::net::TcpStream::connect(sim.addr())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let err = send_purchase(&sim, &t, "R01-OFF").await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    control.set_online(true).await;
    let body: Value = send_purchase(&sim, &t, "R01-ON")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["data"]["purchaseAdd"]["id"].is_string(), "{body}");
    let ledger = control.ledger();
    assert_eq!(purchases(&ledger, "R01-OFF"), 0);
    assert_eq!(purchases(&ledger, "R01-ON"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn apply_then_drop_records_the_purchase_but_never_answers() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    control.inject(on("purchaseAdd", FaultKind::ApplyThenDrop, Some(2)));
    let err = send_purchase(&sim, &t, "R01-DROP1").await.unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    let raw = raw_exchange(
        &sim,
        &t,
        &json!({"query": PURCHASE_ADD, "variables": {"a": purchase("R01-DROP2")}}),
    )
    .await;
    match raw {
        Ok(bytes) => assert!(
            bytes.is_empty(),
            "got an answer: {}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    let ledger = control.ledger();
    assert_eq!(purchases(&ledger, "R01-DROP1"), 1);
    assert_eq!(purchases(&ledger, "R01-DROP2"), 1);
    // Used up: the next one is answered.
    let ok = send_purchase(&sim, &t, "R01-DROP3").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(control.faults().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn apply_then_drop_on_a_gift_card_authorize_leaves_the_hold() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    sim.control()
        .inject(on("giftcardTransAdd", FaultKind::ApplyThenDrop, Some(1)));
    let input = json!({"codeType": "PHYSICAL", "code": "6006491000000001", "transType": "USE",
                       "amount": "-5", "authorize": true});
    let result = http()
        .post(sim.graphql_url())
        .bearer_auth(&t)
        .json(&json!({"query": TRANS_ADD, "variables": {"t": input}}))
        .send()
        .await;
    assert!(result.is_err());
    let ledger = sim.control().ledger();
    assert_eq!(ledger.giftcard_transactions.len(), 1);
    assert_eq!(ledger.balance("1001"), Some(rust_decimal::dec!(45.00)));
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_apply_first_other_statuses_do_not() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    control.inject(on("purchaseAdd", FaultKind::HttpStatus(500), Some(1)));
    let r = send_purchase(&sim, &t, "R01-500").await.unwrap();
    assert_eq!(r.status(), 500);
    control.inject(on("purchaseAdd", FaultKind::HttpStatus(429), Some(1)));
    let r = send_purchase(&sim, &t, "R01-429").await.unwrap();
    assert_eq!(r.status(), 429);
    let ledger = control.ledger();
    assert_eq!(purchases(&ledger, "R01-500"), 1);
    assert_eq!(purchases(&ledger, "R01-429"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn fusion_error_and_not_authenticated_apply_nothing() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    control.inject(on("purchaseAdd", FaultKind::FusionError, Some(1)));
    control.inject(Fault {
        target: FaultTarget::Any,
        kind: FaultKind::NotAuthenticated,
        times: Some(1),
    });
    let r = send_purchase(&sim, &t, "R01-FUSION").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), Some("FUSION_ERROR"));
    let r = send_purchase(&sim, &t, "R01-NOAUTH").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), Some("NOT_AUTHENTICATED"));
    // The environment probe is untouched by a purchaseAdd fault.
    let env = gql(&sim, &t, "{ environment { name } }", json!({})).await;
    assert!(env["errors"].is_null());
    let ledger = control.ledger();
    assert_eq!(purchases(&ledger, "R01-FUSION"), 0);
    assert_eq!(purchases(&ledger, "R01-NOAUTH"), 0);
    assert_eq!(
        ledger.requests.iter().filter(|r| r.fault.is_some()).count(),
        2
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refuse_resets_before_anything_runs() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    sim.control()
        .inject(on("purchaseAdd", FaultKind::Refuse, Some(1)));
    let err = send_purchase(&sim, &t, "R01-REFUSED").await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    let ledger = sim.control().ledger();
    assert_eq!(purchases(&ledger, "R01-REFUSED"), 0);
    assert_eq!(ledger.attempts_for("R01-REFUSED"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_the_answer_past_a_client_timeout() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let control = sim.control();
    control.inject(on(
        "environment",
        FaultKind::Latency(Duration::from_millis(300)),
        Some(2),
    ));
    let started = Instant::now();
    let body = gql(&sim, &t, "{ environment { name } }", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(body["errors"].is_null());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = impatient
        .post(sim.graphql_url())
        .bearer_auth(&t)
        .json(&json!({"query": "{ environment { name } }"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_faults() {
    let sim = start().await;
    let control = sim.control();
    let url = format!("{}/connect/token", sim.issuer_url());
    let ask = || {
        http()
            .post(&url)
            .basic_auth(AGENT.0, Some(AGENT.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    control.inject(Fault {
        target: FaultTarget::Token,
        kind: FaultKind::HttpStatus(503),
        times: Some(1),
    });
    assert_eq!(ask().await.unwrap().status(), 503);
    control.inject(Fault {
        target: FaultTarget::Token,
        kind: FaultKind::NotAuthenticated,
        times: Some(1),
    });
    let r = ask().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    control.inject(Fault {
        target: FaultTarget::Token,
        kind: FaultKind::ApplyThenDrop,
        times: Some(1),
    });
    assert!(ask().await.is_err());
    assert_eq!(ask().await.unwrap().status(), 200);
    assert_eq!(control.token_requests(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_api_arms_lists_and_clears_faults_and_serves_the_ledger() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let base = format!("{}/_sim", sim.issuer_url());
    let fault = json!({"target": {"operation": "purchaseAdd"}, "kind": "fusion_error", "times": 3});
    let r = http()
        .post(format!("{base}/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let listed: Value = http()
        .get(format!("{base}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([fault]));
    let body: Value = send_purchase(&sim, &t, "R01-ADMIN")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&body), Some("FUSION_ERROR"));
    let listed: Value = http()
        .get(format!("{base}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["times"], 2);
    let r = http()
        .delete(format!("{base}/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let body: Value = send_purchase(&sim, &t, "R01-ADMIN")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["data"]["purchaseAdd"]["id"].is_string());
    let ledger: Value = http()
        .get(format!("{base}/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["purchases"][0]["transaction_id"], "R01-ADMIN");
    assert_eq!(ledger["purchases"][0]["pay_amount"], "10.69");
    assert_eq!(ledger["token_requests"], 1);
    assert_eq!(ledger["balances"]["1001"], "50.00");
    // Advancing the clock through the admin API runs the Delay Period task.
    let r: Value = http()
        .post(format!("{base}/clock/advance"))
        .json(&json!({"secs": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["cancelled"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn going_offline_closes_open_keep_alive_connections() {
    let sim = start().await;
    let mut idle = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    // One answered request proves the connection is established and served.
    idle.write_all(
        format!(
            "GET /.well-known/jwks HTTP/1.1\r\nHost: {}\r\n\r\n",
            sim.addr()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    sim.control().set_online(false).await;
    let mut rest = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    match end.expect("the server closes the idle connection") {
        Ok(_) => assert!(rest.is_empty()),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    sim.shutdown().await;
}
