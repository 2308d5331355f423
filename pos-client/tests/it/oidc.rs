//! Auth against a real OpenID Connect provider (oidc-provider 9.13.3 in `tests/oidc/`):
//! discovery, client-credentials tokens, renewal before expiry, a wrong secret, and the
//! secret going to the token endpoint only.

use std::sync::Arc;
use std::time::Duration;

use crate::support::oidc_peer::OidcPeer;
use crate::support::*;
use base64_free::basic_auth;
use pos_client::{ErrorClass, PosClient, PosError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT: &str = "lane-agent";
const EVENT_WAIT: Duration = Duration::from_secs(10);

/// Base64 for the Basic header, written out so the test does not need another crate.
mod base64_free {
    pub fn basic_auth(user: &str, pass: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let input = format!("{user}:{pass}").into_bytes();
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// A wiremock GraphQL API that records what the client sends.
async fn capture_api() -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"environment": {"name": "oidc", "version": "1"}}})),
        )
        .mount(&api)
        .await;
    api
}

async fn bearers(api: &MockServer) -> Vec<String> {
    api.received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn discovery_and_a_token_from_a_real_provider() {
    let mut peer = OidcPeer::start(CLIENT, SECRET, 300).await;
    let api = capture_api().await;
    let client = PosClient::new(config(&peer.issuer, &format!("{}/graphql", api.uri()))).unwrap();
    assert_eq!(client.environment().await.unwrap().name, "oidc");
    assert_eq!(
        peer.next_event(EVENT_WAIT).await.as_deref(),
        Some("grant.success lane-agent")
    );
    let b = bearers(&api).await;
    let token = b[0].strip_prefix("Bearer ").unwrap();
    assert_eq!(token.split('.').count(), 3, "an at+jwt from the provider");
    client.environment().await.unwrap();
    assert_eq!(client.token_fetches(), 1, "cached");
}

#[tokio::test]
async fn token_is_renewed_after_80_percent_of_its_lifetime() {
    let mut peer = OidcPeer::start(CLIENT, SECRET, 4).await;
    let api = capture_api().await;
    let clock = Arc::new(ManualClock::default());
    let client = PosClient::with_clock(
        config(&peer.issuer, &format!("{}/graphql", api.uri())),
        clock.clone(),
    )
    .unwrap();
    client.environment().await.unwrap();
    assert_eq!(
        peer.next_event(EVENT_WAIT).await.as_deref(),
        Some("grant.success lane-agent")
    );

    clock.advance(Duration::from_millis(2_000)); // 50%: the cached token is used
    client.environment().await.unwrap();
    assert_eq!(client.token_fetches(), 1);

    clock.advance(Duration::from_millis(1_400)); // 85%: time to renew
    client.environment().await.unwrap();
    assert_eq!(
        peer.next_event(EVENT_WAIT).await.as_deref(),
        Some("grant.success lane-agent")
    );
    assert_eq!(client.token_fetches(), 2);
    let b = bearers(&api).await;
    assert_eq!(b[0], b[1]);
    assert_ne!(b[1], b[2], "the third call carries the renewed token");
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let mut peer = OidcPeer::start(CLIENT, SECRET, 300).await;
    let api = capture_api().await;
    let mut cfg = config(&peer.issuer, &format!("{}/graphql", api.uri()));
    cfg.client_secret = secrecy::SecretString::from("not-the-secret".to_owned());
    let client = PosClient::new(cfg).unwrap();
    let err = client.environment().await.unwrap_err();
    assert!(matches!(err, PosError::InvalidClient), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Configuration);
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));
    assert_eq!(
        peer.next_event(EVENT_WAIT).await.as_deref(),
        Some("grant.error invalid_client")
    );
    assert!(
        api.received_requests().await.unwrap().is_empty(),
        "no API call without a token"
    );
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let peer = OidcPeer::start(CLIENT, SECRET, 300).await;
    let client = PosClient::new(config(
        &format!("{}/", peer.issuer),
        "http://127.0.0.1:9/graphql",
    ))
    .unwrap();
    let err = client.environment().await.unwrap_err();
    assert!(
        matches!(err, PosError::Config(ref m) if m.contains("discovery")),
        "{err:?}"
    );
}

#[tokio::test]
async fn secret_goes_to_the_token_endpoint_only() {
    let mut peer = OidcPeer::start(CLIENT, SECRET, 300).await;
    let api = capture_api().await;
    let client = PosClient::new(config(&peer.issuer, &format!("{}/graphql", api.uri()))).unwrap();
    for _ in 0..3 {
        client.environment().await.unwrap();
    }
    // The provider accepted the secret (so it was sent there)…
    assert_eq!(
        peer.next_event(EVENT_WAIT).await.as_deref(),
        Some("grant.success lane-agent")
    );
    // …and the API saw neither the secret nor its Basic form anywhere.
    let basic = basic_auth(CLIENT, SECRET);
    let reqs = api.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    for r in reqs {
        let mut seen = String::from_utf8_lossy(&r.body).into_owned();
        for (k, v) in &r.headers {
            seen.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
        }
        seen.push_str(r.url.as_str());
        assert!(!seen.contains(SECRET), "secret leaked to the API");
        assert!(
            !seen.contains(&basic),
            "basic credentials leaked to the API"
        );
    }
    assert!(format!("{client:?}").find(SECRET).is_none());
}

/// A wiremock IdP + GraphQL API whose discovery document names `token_endpoint`.
async fn idp_naming(token_endpoint: impl Fn(&str) -> String) -> MockServer {
    let idp = capture_api().await;
    let base = idp.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": token_endpoint(&base),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })))
        .mount(&idp)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": []})))
        .mount(&idp)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "tok-1", "token_type": "Bearer", "expires_in": 300
        })))
        .mount(&idp)
        .await;
    idp
}

/// Issue 13 item 6: discovery may not send the client secret over plain http to another
/// host; the same document with a loopback http endpoint works (the control).
#[tokio::test]
async fn a_plain_http_token_endpoint_beyond_loopback_is_refused() {
    let idp = idp_naming(|_| "http://idp.example.com/token".to_owned()).await;
    let client = PosClient::new(config(&idp.uri(), &format!("{}/graphql", idp.uri()))).unwrap();
    let err = client.environment().await.unwrap_err();
    assert!(
        matches!(err, PosError::Config(ref m) if m.contains("token_endpoint") && m.contains("loopback")),
        "{err:?}"
    );
    let reqs = idp.received_requests().await.unwrap();
    assert!(
        reqs.iter().all(|r| r.method.as_str() == "GET"),
        "only discovery was fetched: {:?}",
        reqs.iter()
            .map(|r| r.url.path().to_owned())
            .collect::<Vec<_>>()
    );
    assert!(
        reqs.iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains(SECRET))
    );

    let idp = idp_naming(|base| format!("{base}/token")).await;
    let client = PosClient::new(config(&idp.uri(), &format!("{}/graphql", idp.uri()))).unwrap();
    client.environment().await.unwrap();
}
