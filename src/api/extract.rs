//! Extractors that answer bad input in the API's error shape instead of axum's plain-text
//! rejections, and never echo values (which may be card data) back into messages or logs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path as FieldPath, Segment};

use super::error::ApiError;

/// A JSON body: `Content-Type: application/json`, at most the router's body limit, no
/// trailing data, no unknown fields (the types say `deny_unknown_fields`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "The request body is larger than the API accepts.",
                )
            } else {
                ApiError::bad_request("invalid_body", "The request body could not be read.")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(Ok(value)) = value.map(|v| v.to_str()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserializes a JSON body into `T`, mapping every failure to a typed [`ApiError`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                data_error(&path.to_string(), leaf(&path), &inner.to_string())
            }
            serde_json::error::Category::Eof => ApiError::bad_request(
                "invalid_json",
                "The request body is empty or ends in the middle of a JSON value.",
            ),
            _ => ApiError::bad_request(
                "invalid_json",
                format!(
                    "The request body is not valid JSON (line {}, column {}).",
                    inner.line(),
                    inner.column()
                ),
            ),
        }
    })?;
    de.end().map_err(|_| {
        ApiError::bad_request(
            "invalid_json",
            "The request body has data after the JSON value.",
        )
    })?;
    Ok(value)
}

/// A query string, with the same error mapping as [`ApiJson`].
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => {
                let text = rejection.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let mut e = data_error("", None, text);
                e.status = StatusCode::BAD_REQUEST;
                if e.code == "invalid_body" {
                    e.code = "invalid_query";
                    e.message = "The query string is not valid.".to_owned();
                }
                Err(e)
            }
        }
    }
}

/// One path segment as text (`{id}`, `{sku}`, `{member_id}`); its handler validates it.
#[derive(Debug)]
pub struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(s)| ApiPath(s))
            .map_err(|_| ApiError::bad_request("invalid_path", "The path segment is not valid."))
    }
}

/// Turns a serde data error into a typed error without echoing the offending value.
fn data_error(path: &str, leaf: Option<&str>, message: &str) -> ApiError {
    let message = strip_position(message);
    let at = if path.is_empty() || path == "." {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    if let Some(name) = quoted_after(message, "unknown field `") {
        return ApiError::invalid("unknown_field", format!("Unknown field `{name}`{at}."));
    }
    if let Some(name) = quoted_after(message, "missing field `") {
        return ApiError::invalid("missing_field", format!("Missing field `{name}`{at}."));
    }
    let code = leaf.map(code_for_field).unwrap_or("invalid_body");
    let expected = message
        .rfind("expected ")
        .map(|i| format!(": {}", &message[i..]))
        .unwrap_or_default();
    ApiError::invalid(code, format!("Invalid value{at}{expected}."))
}

/// Drops serde_json's trailing " at line N column M".
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// The backticked name after `prefix`, if it is a plausible field name.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    let name = &rest[..rest.find('`')?];
    let plausible = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    Some(if plausible {
        name.to_owned()
    } else {
        "…".to_owned()
    })
}

fn leaf(path: &FieldPath) -> Option<&str> {
    path.iter().rev().find_map(|s| match s {
        Segment::Map { key } => Some(key.as_str()),
        _ => None,
    })
}

/// The error code for a bad value in a named field.
pub(crate) fn code_for_field(field: &str) -> &'static str {
    match field {
        "amount" | "unit_price" | "tax" => "invalid_amount",
        "quantity" => "invalid_quantity",
        "sale_id" | "payment_id" | "member_id" | "request_id" => "invalid_id",
        "code" => "invalid_code",
        "pin" => "invalid_pin",
        "sku" => "invalid_sku",
        "uom" => "invalid_uom",
        "method" => "invalid_method",
        "lines" => "invalid_lines",
        "resolution" => "invalid_resolution",
        _ => "invalid_body",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{AddPaymentRequest, OpenSaleRequest};

    fn err<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> ApiError {
        parse_json::<T>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn malformed_json_is_400() {
        let e = err::<OpenSaleRequest>("{\"lines\": [");
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let e = err::<OpenSaleRequest>("{nope}");
        assert_eq!(e.code, "invalid_json");
        let e = err::<OpenSaleRequest>("");
        assert_eq!(e.code, "invalid_json");
        let e = err::<OpenSaleRequest>("{\"lines\":[]} x");
        assert_eq!(e.code, "invalid_json");
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let e = err::<OpenSaleRequest>(r#"{"lines":[],"discount":"1"}"#);
        assert_eq!(e.code, "unknown_field");
        assert!(e.message.contains("`discount`"), "{}", e.message);
        let e = err::<OpenSaleRequest>(r#"{"lines":[{"sku":"A","quantity":"1"}]}"#);
        assert_eq!(e.code, "missing_field");
        assert!(e.message.contains("`unit_price`"), "{}", e.message);
    }

    #[test]
    fn bad_values_get_field_codes_and_are_not_echoed() {
        let e = err::<OpenSaleRequest>(
            r#"{"lines":[{"sku":"A","quantity":"lots","unit_price":"1.00"}]}"#,
        );
        assert_eq!(e.code, "invalid_quantity");
        assert!(e.message.contains("lines[0].quantity"), "{}", e.message);
        assert!(!e.message.contains("lots"), "{}", e.message);
        let e = err::<AddPaymentRequest>(
            r#"{"method":"giftcard","amount":"1.00","code":6006491234567890}"#,
        );
        assert_eq!(e.code, "invalid_code");
        assert!(!e.message.contains("6006491234567890"), "{}", e.message);
        let e = err::<AddPaymentRequest>(r#"{"method":"bitcoin","amount":"1.00"}"#);
        assert_eq!(e.code, "invalid_method");
        assert!(!e.message.contains("bitcoin"), "{}", e.message);
        let e = err::<AddPaymentRequest>(r#"{"method":"cash","amount":12.5}"#);
        assert_eq!(e.code, "invalid_amount");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::parse_json;
    use crate::api::types::{AddPaymentRequest, GiftCardFundRequest, OpenSaleRequest};

    proptest! {
        /// Whatever bytes arrive, parsing answers Ok or a typed error and never panics.
        #[test]
        fn any_bytes_parse_totally(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_json::<OpenSaleRequest>(&bytes);
            let _ = parse_json::<AddPaymentRequest>(&bytes);
            let _ = parse_json::<GiftCardFundRequest>(&bytes);
        }

        /// Errors for payment bodies never repeat a code-like digit run the body carried.
        #[test]
        fn payment_errors_never_echo_the_code(code in "[0-9]{16}", amount in "[-0-9.e]{1,8}") {
            let body = format!(r#"{{"method":"giftcard","amount":"{amount}","code":"{code}","x":{code}}}"#);
            if let Err(e) = parse_json::<AddPaymentRequest>(body.as_bytes()) {
                prop_assert!(!e.message.contains(&code));
            }
        }
    }
}
