//! OIDC discovery and the client-credentials token endpoint (pos-api.md §2).
//!
//! Tokens are opaque random strings (Orchard Core's default), valid for the seed's
//! `token_ttl_secs` on the simulated clock. Client authentication accepts
//! `client_secret_basic` and `client_secret_post`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::faults::{FaultKind, Hit};
use super::graphql::status_response;
use super::ledger::RequestRecord;
use super::server::{App, ConnHandle};

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn discovery(State(app): State<App>) -> Response {
    let iss = &app.issuer;
    Json(serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/connect/authorize"),
        "token_endpoint": format!("{iss}/connect/token"),
        "jwks_uri": format!("{iss}/.well-known/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid"],
        "claims_supported": ["sub", "iss"],
    }))
    .into_response()
}

/// `GET /.well-known/jwks`: no keys, the tokens are opaque.
pub(crate) async fn jwks() -> Response {
    Json(serde_json::json!({"keys": []})).into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    let mut response = (status, Json(serde_json::json!({"error": error}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hardware-sim\""),
        );
    }
    response
}

/// `POST /connect/token`.
pub(crate) async fn token(
    State(app): State<App>,
    axum::Extension(conn): axum::Extension<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = app.state.faults.take(Hit::Token);
    let form = parse_form(&body);
    let credentials = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let now = app.state.now();
    {
        let mut db = app.state.db();
        db.token_requests += 1;
        db.requests.push(RequestRecord {
            operations: vec!["token".to_owned()],
            operation_name: None,
            client_id: credentials.as_ref().map(|c| c.0.clone()),
            fault: fault.as_ref().map(|f| format!("{f:?}")),
            transaction_id: None,
            ref_no: None,
            at: now,
        });
    }
    match &fault {
        Some(FaultKind::Latency(delay)) => tokio::time::sleep(*delay).await,
        Some(FaultKind::Refuse) => return conn.reset().await,
        Some(FaultKind::HttpStatus(s)) => return status_response(*s),
        Some(FaultKind::FusionError) => {
            return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
        }
        Some(FaultKind::NotAuthenticated) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
        _ => {}
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
    let Some((client_id, secret)) = credentials else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !app.state.check_client(&client_id, &secret) {
        tracing::warn!(client = %client_id, "Token request with wrong client credentials.");
        app.state.live(format!(
            "POS → token refused to {client_id}: wrong credentials"
        ));
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let access_token = app.state.issue_token(&client_id);
    tracing::info!(client = %client_id, "Access token issued.");
    app.state.live(format!("POS → token issued to {client_id}"));
    if fault == Some(FaultKind::ApplyThenDrop) {
        return conn.reset().await;
    }
    let mut response = Json(serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": app.state.token_ttl.as_secs(),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((url_decode(id)?, url_decode(secret)?))
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((url_decode(k)?, url_decode(v)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding; `None` on malformed escapes.
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with optional padding; `None` on anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 || trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn decoders_never_panic(text in ".{0,64}", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = base64_decode(&text);
            let _ = url_decode(&text);
            let _ = parse_form(&bytes);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&format!("Basic {text}")) {
                headers.insert(header::AUTHORIZATION, value);
            }
            let _ = basic_credentials(&headers);
        }

        #[test]
        fn url_decoding_inverts_percent_encoding(text in ".{0,32}") {
            let encoded: String = text
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            prop_assert_eq!(url_decode(&encoded), Some(text));
        }
    }

    #[test]
    fn base64_and_form_decoding() {
        assert_eq!(base64_decode("YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode("YTpiYw==").unwrap(), b"a:bc");
        assert_eq!(base64_decode("YTpiYw").unwrap(), b"a:bc");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("YT!i").is_none());
        assert_eq!(url_decode("a%3Ab+c").unwrap(), "a:b c");
        assert!(url_decode("%4").is_none());
        assert!(url_decode("%zz").is_none());
        let form = parse_form(b"grant_type=client_credentials&client_id=lane-agent&x");
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["x"], "");
    }
}
