//! The client's own overhead per call against the POS stand-in on loopback.
//!
//! Runs N `environment` calls through `PosClient` and N raw reqwest POSTs of the same body
//! with the same kind of bearer token, and prints mean / p50 / p99 per call for both and the
//! difference (token cache, classification, typed decoding, the bounded body reader).
//!
//! `cargo run -p pos-client --release --example bench_overhead [N]`

use std::time::{Duration, Instant};

use hardware_sim::pos::{PosSim, Seed};
use pos_client::{DEFAULT_MAX_RESPONSE_BYTES, PosClient, PosConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

fn stats(name: &str, mut v: Vec<Duration>) -> f64 {
    v.sort();
    let n = v.len();
    let mean = v.iter().sum::<Duration>().as_secs_f64() / n as f64;
    let pct = |p: f64| v[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    println!(
        "{name:<22} n={n:<6} mean={:>8.1} µs  p50={:>8.1} µs  p99={:>8.1} µs",
        mean * 1e6,
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
    );
    mean
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let seed = Seed::example();
    let sim = PosSim::start("127.0.0.1:0".parse().unwrap(), seed.clone())
        .await
        .expect("stand-in starts");
    let c = seed.clients.iter().find(|c| c.id == "lane-agent").unwrap();

    let pos = PosClient::new(PosConfig {
        graphql_url: sim.graphql_url(),
        issuer_url: sim.issuer_url(),
        client_id: c.id.clone(),
        client_secret: SecretString::from(c.secret.clone()),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    })
    .unwrap();

    // Raw baseline: its own token, then plain POST + JSON parse.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let disco: Value = raw
        .get(format!(
            "{}/.well-known/openid-configuration",
            sim.issuer_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok: Value = raw
        .post(disco["token_endpoint"].as_str().unwrap())
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let body = serde_json::to_vec(&json!({
        "query": include_str!("../graphql/environment.graphql"),
        "operationName": "Environment",
        "variables": null,
    }))
    .unwrap();

    // Warm up both paths (discovery, token, connection pools).
    for _ in 0..200 {
        pos.environment().await.unwrap();
        raw_call(&raw, &sim.graphql_url(), &bearer, &body).await;
    }

    let mut client_t = Vec::with_capacity(n);
    let mut raw_t = Vec::with_capacity(n);
    // Interleave so drift in the stand-in affects both equally.
    for _ in 0..n {
        let t = Instant::now();
        pos.environment().await.unwrap();
        client_t.push(t.elapsed());
        let t = Instant::now();
        raw_call(&raw, &sim.graphql_url(), &bearer, &body).await;
        raw_t.push(t.elapsed());
    }
    println!("environment over loopback against hardware_sim::pos::PosSim");
    let a = stats("PosClient::environment", client_t);
    let b = stats("raw reqwest POST", raw_t);
    println!("client overhead (mean) {:>8.1} µs per call", (a - b) * 1e6);
    sim.shutdown().await;
}

async fn raw_call(raw: &reqwest::Client, url: &str, bearer: &str, body: &[u8]) {
    let resp = raw
        .post(url)
        .header("authorization", bearer)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(v["data"]["environment"]["name"].is_string());
}
