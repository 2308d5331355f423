//! The step-by-step calls `lane-agent doctor` makes through the client (`discover`,
//! `fetch_token`, `introspect`, `get_status`): each works against the POS stand-in, and each
//! failure keeps what happened in a typed error (the status, the issuer found, the
//! provider's error code) while the client's own calls keep their error classes.

use std::time::Duration;

use hardware_sim::pos::{PosSim, Seed};
use pos_client::schema_check::check_introspection;
use pos_client::*;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "lane-agent-sim-secret-0123456789";

fn config(issuer: &str, graphql: &str, secret: &str) -> PosConfig {
    PosConfig {
        graphql_url: graphql.to_owned(),
        issuer_url: issuer.to_owned(),
        client_id: "lane-agent".to_owned(),
        client_secret: SecretString::from(secret.to_owned()),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    }
}

async fn stand_in() -> PosSim {
    PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap()
}

#[tokio::test]
async fn each_step_works_against_the_stand_in_and_shares_the_token() {
    let sim = stand_in().await;
    let client = PosClient::new(config(&sim.issuer_url(), &sim.graphql_url(), SECRET)).unwrap();
    let found = client.discover().await.unwrap();
    assert_eq!(found.issuer, sim.issuer_url());
    assert!(
        found.token_endpoint.starts_with(&sim.issuer_url()),
        "{found:?}"
    );
    assert!(found.url.ends_with("/.well-known/openid-configuration"));
    let info = client.fetch_token().await.unwrap();
    assert!(info.expires_in.is_some_and(|d| !d.is_zero()), "{info:?}");
    assert_eq!(client.token_fetches(), 1);
    // The operations use the token just fetched.
    client.environment().await.unwrap();
    let data = client.introspect().await.unwrap();
    assert!(data.get("__schema").is_some());
    assert_eq!(check_introspection(&data).unwrap(), Vec::<String>::new());
    assert_eq!(client.token_fetches(), 1);
    // A fresh token on request, whatever the cache holds.
    client.fetch_token().await.unwrap();
    assert_eq!(client.token_fetches(), 2);
    assert_eq!(
        client.get_status(&sim.graphql_url()).await.unwrap() / 100,
        4
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_is_a_rejected_client_with_its_code() {
    let sim = stand_in().await;
    let client = PosClient::new(config(
        &sim.issuer_url(),
        &sim.graphql_url(),
        "not-the-secret",
    ))
    .unwrap();
    let err = client.fetch_token().await.unwrap_err();
    assert!(
        matches!(err, TokenError::Refused { ref code } if code == "invalid_client"),
        "{err:?}"
    );
    assert!(err.is_client_rejected());
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));
    // The client's own calls still see the class they always did.
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::InvalidClient), "{err:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn discovery_failures_are_named() {
    let sim = stand_in().await;
    let (issuer, graphql) = (sim.issuer_url(), sim.graphql_url());
    // Another trailing slash: the issuer found and the one configured.
    let slash = format!("{}/", sim.issuer_url());
    let client = PosClient::new(config(&slash, &sim.graphql_url(), SECRET)).unwrap();
    match client.discover().await.unwrap_err() {
        DiscoveryError::IssuerMismatch { found, expected } => {
            assert_eq!(found, sim.issuer_url());
            assert_eq!(expected, slash);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.fetch_token().await.unwrap_err(),
        TokenError::Discovery(DiscoveryError::IssuerMismatch { .. })
    ));
    sim.shutdown().await;

    // Nothing listens any more: unreachable, and for the client's calls "not sent".
    let client = PosClient::new(config(&issuer, &graphql, SECRET)).unwrap();
    assert!(matches!(
        client.discover().await.unwrap_err(),
        DiscoveryError::Unreachable { .. }
    ));
    let err = client.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotSent, "{err:?}");

    let idp = MockServer::start().await;
    let base = idp.uri();
    let client = PosClient::new(config(&base, &format!("{base}/graphql"), SECRET)).unwrap();
    // No document at all.
    match client.discover().await.unwrap_err() {
        DiscoveryError::Status { url, status } => {
            assert_eq!(status, 404);
            assert_eq!(url, format!("{base}/.well-known/openid-configuration"));
        }
        other => panic!("{other:?}"),
    }
    // HTML instead of JSON.
    let doc = Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html></html>", "text/html"))
        .mount_as_scoped(&idp)
        .await;
    assert!(matches!(
        client.discover().await.unwrap_err(),
        DiscoveryError::NotJson { .. }
    ));
    drop(doc);
    // The right issuer but no token endpoint.
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "issuer": base })))
        .mount(&idp)
        .await;
    assert!(matches!(
        client.discover().await.unwrap_err(),
        DiscoveryError::NoTokenEndpoint { .. }
    ));
    let err = client.environment().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Configuration, "{err:?}");
}
