//! OIDC discovery, the token endpoint and bearer checks of the POS simulator.

use std::time::Duration;

use crate::support::pos::*;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, OAuth2TokenResponse};
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_document_names_the_issuer_and_token_endpoint() {
    let sim = start().await;
    let doc: Value = http()
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
    assert_eq!(doc["issuer"], sim.issuer_url());
    assert!(!sim.issuer_url().ends_with('/'));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/connect/token", sim.issuer_url())
    );
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_credentials"))
    );
    let jwks: Value = http()
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, json!({"keys": []}));
    sim.shutdown().await;
}

#[tokio::test]
async fn openidconnect_discovers_and_gets_a_token() {
    let sim = start().await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(sim.issuer_url()).unwrap(), &http)
            .await
            .expect("discovery parses as CoreProviderMetadata");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(AGENT.0.into()),
        Some(ClientSecret::new(AGENT.1.into())),
    );
    let token = client
        .exchange_client_credentials()
        .unwrap()
        .request_async(&http)
        .await
        .expect("token issued");
    assert_eq!(token.expires_in(), Some(Duration::from_secs(300)));
    let body = gql(
        &sim,
        token.access_token().secret(),
        "{ environment { name version } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["environment"]["name"], "hardware-sim");
    assert_eq!(sim.control().token_requests(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn client_secret_post_works_and_wrong_secrets_get_invalid_client() {
    let sim = start().await;
    let url = format!("{}/connect/token", sim.issuer_url());
    let ok = http()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", AGENT.0),
            ("client_secret", AGENT.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);

    for (id, secret) in [(AGENT.0, "wrong"), ("nobody", "x")] {
        let bad = http()
            .post(&url)
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body, json!({"error": "invalid_client"}));
    }
    let no_client = http()
        .post(&url)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_client.status(), 401);
    let wrong_grant = http()
        .post(&url)
        .basic_auth(AGENT.0, Some(AGENT.1))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_grant.status(), 400);
    assert_eq!(sim.control().token_requests(), 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_are_not_authenticated() {
    let sim = start().await;
    let query = json!({"query": "{ environment { name } }"});
    let missing: Value = http()
        .post(sim.graphql_url())
        .json(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&missing), Some("NOT_AUTHENTICATED"));
    assert!(missing["data"].is_null());

    let unknown = gql(&sim, "not-a-token", "{ environment { name } }", json!({})).await;
    assert_eq!(code(&unknown), Some("NOT_AUTHENTICATED"));

    let token = token(&sim, AGENT).await;
    let fine = gql(&sim, &token, "{ environment { name } }", json!({})).await;
    assert!(fine["errors"].is_null(), "{fine}");
    sim.control().advance_clock(Duration::from_secs(301));
    let expired = gql(&sim, &token, "{ environment { name } }", json!({})).await;
    assert_eq!(code(&expired), Some("NOT_AUTHENTICATED"));
    sim.shutdown().await;
}
