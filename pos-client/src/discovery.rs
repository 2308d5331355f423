//! OIDC discovery and the client-credentials token, with errors that keep what happened
//! (the status, the issuer found, the provider's error code). The client maps them onto
//! [`PosError`] classes; `lane-agent doctor` reports them as they are, through
//! [`crate::PosClient::discover`] and [`crate::PosClient::fetch_token`].

use std::time::Duration;

use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;
use serde_json::Value as Json;

use crate::error::PosError;
use crate::transport::{Http, TransportError};

/// What OIDC discovery found.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The discovery document's URL.
    pub url: String,
    /// Its `issuer`, equal to the configured issuer.
    pub issuer: String,
    /// Its `token_endpoint`.
    pub token_endpoint: String,
    pub(crate) metadata: CoreProviderMetadata,
}

/// Why discovery failed. Never contains the client secret (discovery does not send it).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The configured issuer is not a URL.
    #[error("issuer_url: {0}")]
    BadIssuerUrl(String),
    /// No answer: connect refused, DNS, TLS, timeout, reset.
    #[error("{url}: {reason}")]
    Unreachable {
        /// The discovery URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// An HTTP status other than success.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The discovery URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The answer is not a JSON object.
    #[error("{url}: not JSON: {reason}")]
    NotJson {
        /// The discovery URL.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The document's `issuer` differs from the configured one (OIDC Discovery §4.3: they
    /// must be identical, trailing slash included).
    #[error("issuer {found:?} differs from the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The document's `issuer`.
        found: String,
        /// The configured issuer.
        expected: String,
    },
    /// The document names no `token_endpoint`.
    #[error("{url} has no token_endpoint")]
    NoTokenEndpoint {
        /// The discovery URL.
        url: String,
    },
    /// The token endpoint would carry the secret in clear (plain http beyond loopback).
    #[error("{0}")]
    InsecureTokenEndpoint(String),
    /// The document lacks what an OIDC provider must publish, or has it in the wrong shape.
    #[error("{url}: discovery document: {reason}")]
    BadDocument {
        /// The discovery URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// A fresh access token's facts (never the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    /// The provider's `expires_in`, if it sent one.
    pub expires_in: Option<Duration>,
}

/// Why no token was issued. Never contains the client secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Discovery, which names the token endpoint, failed first.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The token request got no answer.
    #[error("token request failed: {0}")]
    Unreachable(String),
    /// The provider refused with an OAuth error (`invalid_client`, `unauthorized_client`, …).
    #[error("the token endpoint refused: {code}")]
    Refused {
        /// The OAuth `error` code.
        code: String,
    },
    /// The answer is not a token response.
    #[error("token answer malformed: {0}")]
    Malformed(String),
    /// The client could not build the request (e.g. no token endpoint).
    #[error("token endpoint: {0}")]
    Setup(String),
}

impl TokenError {
    /// The provider rejected the client's id or secret (`invalid_client`,
    /// `unauthorized_client`).
    pub fn is_client_rejected(&self) -> bool {
        matches!(self, Self::Refused { code } if code == "invalid_client" || code == "unauthorized_client")
    }
}

impl From<DiscoveryError> for PosError {
    fn from(e: DiscoveryError) -> Self {
        match e {
            DiscoveryError::Unreachable { reason, .. } => PosError::NotSent {
                operation: "discovery",
                reason,
            },
            DiscoveryError::Status { status, .. } if status >= 500 => PosError::NotSent {
                operation: "discovery",
                reason: e.to_string(),
            },
            DiscoveryError::InsecureTokenEndpoint(problem) => PosError::Config(problem),
            DiscoveryError::BadIssuerUrl(_) => PosError::Config(e.to_string()),
            other => PosError::Config(format!("discovery: {other}")),
        }
    }
}

impl From<TokenError> for PosError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Discovery(d) => d.into(),
            TokenError::Refused { ref code } if code == "invalid_client" => PosError::InvalidClient,
            TokenError::Refused { .. } | TokenError::Setup(_) => PosError::Config(e.to_string()),
            TokenError::Unreachable(reason) => PosError::NotSent {
                operation: "token",
                reason,
            },
            TokenError::Malformed(_) => PosError::NotSent {
                operation: "token",
                reason: e.to_string(),
            },
        }
    }
}

/// The discovery document's URL for `issuer` (as openidconnect joins it).
fn document_url(issuer: &str) -> String {
    if issuer.ends_with('/') {
        format!("{issuer}.well-known/openid-configuration")
    } else {
        format!("{issuer}/.well-known/openid-configuration")
    }
}

/// Fetches and checks the discovery document of `issuer`. Only the document is fetched:
/// client credentials need no signing keys.
pub(crate) async fn discover(http: &Http, issuer: &str) -> Result<Discovery, DiscoveryError> {
    IssuerUrl::new(issuer.to_owned()).map_err(|e| DiscoveryError::BadIssuerUrl(e.to_string()))?;
    let url = document_url(issuer);
    let resp = http.get_json(&url).await.map_err(|e| match e {
        TransportError::NotSent(r) | TransportError::Unknown(r) => DiscoveryError::Unreachable {
            url: url.clone(),
            reason: r,
        },
        too_large @ TransportError::TooLarge(_) => DiscoveryError::NotJson {
            url: url.clone(),
            reason: too_large.to_string(),
        },
    })?;
    if !(200..300).contains(&resp.status) {
        return Err(DiscoveryError::Status {
            url,
            status: resp.status,
        });
    }
    let doc: Json = serde_json::from_slice(&resp.body).map_err(|e| DiscoveryError::NotJson {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    let found = doc.get("issuer").and_then(Json::as_str).unwrap_or("");
    if found != issuer {
        return Err(DiscoveryError::IssuerMismatch {
            found: found.to_owned(),
            expected: issuer.to_owned(),
        });
    }
    let Some(token_endpoint) = doc.get("token_endpoint").and_then(Json::as_str) else {
        return Err(DiscoveryError::NoTokenEndpoint { url });
    };
    // Discovery names where the client secret goes: it gets the same rule as the
    // configured URLs (https, or plain http to loopback only), so a provider document
    // cannot send the secret across the network in clear.
    let mut problems = Vec::new();
    crate::config::check_url(
        "token_endpoint (from discovery)",
        token_endpoint,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(DiscoveryError::InsecureTokenEndpoint(problems.join("; ")));
    }
    let token_endpoint = token_endpoint.to_owned();
    let metadata: CoreProviderMetadata =
        serde_json::from_value(doc).map_err(|e| DiscoveryError::BadDocument {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    Ok(Discovery {
        url,
        issuer: issuer.to_owned(),
        token_endpoint,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_url_does_not_double_the_slash() {
        assert_eq!(
            document_url("https://idp.example/"),
            "https://idp.example/.well-known/openid-configuration"
        );
        assert_eq!(
            document_url("https://idp.example/realm"),
            "https://idp.example/realm/.well-known/openid-configuration"
        );
    }

    #[test]
    fn errors_keep_their_class() {
        let e = PosError::from(DiscoveryError::IssuerMismatch {
            found: "a".into(),
            expected: "a/".into(),
        });
        assert!(matches!(e, PosError::Config(ref m) if m.contains("discovery")));
        let e = PosError::from(TokenError::Refused {
            code: "invalid_client".into(),
        });
        assert!(matches!(e, PosError::InvalidClient));
        let e = PosError::from(DiscoveryError::Status {
            url: "u".into(),
            status: 503,
        });
        assert!(matches!(e, PosError::NotSent { .. }));
        assert!(
            TokenError::Refused {
                code: "unauthorized_client".into()
            }
            .is_client_rejected()
        );
    }
}
