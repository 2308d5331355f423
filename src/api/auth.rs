//! Bearer-token check for every route but `GET /v1/health`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Compares in time independent of where the inputs differ (only their lengths may show).
/// An empty expected token matches nothing.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The token after `Bearer ` (scheme case-insensitive), if the header has that form.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: 401 `unauthorized` without a bearer token, 401 `invalid_token` for a wrong one.
pub async fn require_bearer(
    State(expected): State<Arc<SecretString>>,
    req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(given) = header.and_then(bearer) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send Authorization: Bearer <token>.",
        )
        .into_response();
    };
    if !tokens_match(expected.expose_secret(), given) {
        tracing::warn!(path = %req.uri().path(), "API request with a wrong bearer token refused.");
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The bearer token is wrong.",
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_parse() {
        assert!(tokens_match("s3cret", "s3cret"));
        assert!(!tokens_match("s3cret", "s3creT"));
        assert!(!tokens_match("s3cret", "s3cret2"));
        assert!(!tokens_match("s3cret", ""));
        assert!(!tokens_match("", ""));
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
