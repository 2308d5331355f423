//! One typed error for every call, and its class.
//!
//! The class decides what a caller may do next (`reliability.md` §2 rule 3, §6 P6.1): retry,
//! mark a mutation in doubt, give up, or alert about the setup. Messages that come from the
//! server are scrubbed of the request's gift-card code and PIN before they are stored here.

use std::time::Duration;

/// What the caller may do after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Nothing reached the server (connect refused, DNS, TLS, no token, HTTP 429): retrying
    /// cannot double anything.
    NotSent,
    /// A query failed in a way that may pass (5xx, `FUSION_ERROR`, timeout, garbled answer).
    /// Queries have no side effect, so a retry with backoff is safe.
    Transient,
    /// A mutation may or may not have been applied. Never resend blindly: the caller records
    /// the operation as in doubt and reconciles (`reliability.md` §2 rule 4).
    OutcomeUnknown,
    /// The server refused the request for good (validation, decline, missing permission,
    /// HTTP 4xx). Retrying gives the same answer.
    Rejected,
    /// The client's setup is wrong (`invalid_client`, issuer mismatch, unreadable secret,
    /// authentication failing after a fresh token): alert an operator, back off long.
    Configuration,
}

/// Why the POS declined a gift-card transaction (a `VALIDATION` error's `ValidationType`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeclineReason {
    /// The card's balance does not cover the amount.
    InsufficientBalance,
    /// No card has this code (of this code type).
    CodeNotFound,
    /// The code has expired (the funds have not; `pos-api.md` §5.6).
    CodeExpired,
    /// The PIN is wrong or missing while the card requires one.
    InvalidPin,
    /// The amount's sign does not fit the transaction type (`USE` < 0, `ADD` > 0).
    AmountSign,
    /// Capture of a cancelled or cancel of a completed transaction.
    TransactionNotAuthorized,
    /// Any other validation failure: still a decline (`pos-api.md` §3); the text is the
    /// server's `ValidationType`.
    Other(String),
}

impl DeclineReason {
    /// Maps a `ValidationType` to a reason.
    pub fn from_validation_type(t: &str) -> Self {
        match t {
            "InsufficientBalance" => Self::InsufficientBalance,
            "CodeNotFound" => Self::CodeNotFound,
            "CodeExpired" => Self::CodeExpired,
            "InvalidPin" => Self::InvalidPin,
            "AmountSign" => Self::AmountSign,
            "TransactionNotAuthorized" => Self::TransactionNotAuthorized,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Every failure of a POS call. `Display` and `Debug` never contain a gift-card code, a PIN,
/// the client secret or an access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PosError {
    /// The request was not sent: connect refused, DNS, TLS handshake, or no token could be
    /// obtained for it.
    #[error("POS request {operation} was not sent: {reason}")]
    NotSent {
        /// GraphQL operation name (or `token`/`discovery`).
        operation: &'static str,
        /// What failed.
        reason: String,
    },
    /// The request may have reached the server, but no usable answer came back: timeout after
    /// the request was written, connection reset, early EOF, or `200` with a null data field.
    #[error("POS request {operation} ended without a known outcome: {reason}")]
    OutcomeUnknown {
        /// GraphQL operation name.
        operation: &'static str,
        /// True for mutations: then the server may have applied it.
        mutation: bool,
        /// What happened.
        reason: String,
    },
    /// An HTTP status other than 200 and 401.
    #[error("POS request {operation} got HTTP {status}")]
    HttpStatus {
        /// GraphQL operation name.
        operation: &'static str,
        /// True for mutations.
        mutation: bool,
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, if it sent one (429, 503).
        retry_after: Option<Duration>,
    },
    /// `NOT_AUTHENTICATED` (or HTTP 401) even after one token refresh and one retry.
    #[error("POS request {operation} was not authenticated after a fresh token")]
    NotAuthenticated {
        /// GraphQL operation name.
        operation: &'static str,
    },
    /// `NOT_AUTHORIZED`: a permission is missing from the client's roles.
    #[error("POS request {operation} is not authorized: {message}")]
    NotAuthorized {
        /// GraphQL operation name.
        operation: &'static str,
        /// Server message (scrubbed).
        message: String,
    },
    /// `VALIDATION` on an operation that is not a gift-card transaction.
    #[error("POS rejected {operation} input ({validation_type} on {property}): {message}")]
    Validation {
        /// GraphQL operation name.
        operation: &'static str,
        /// `extensions.data.ValidationType`.
        validation_type: String,
        /// `extensions.data.Property` (empty when absent).
        property: String,
        /// Server message (scrubbed).
        message: String,
    },
    /// A gift-card transaction or lookup was declined.
    #[error("POS declined {operation}: {reason:?} ({message})")]
    Declined {
        /// GraphQL operation name.
        operation: &'static str,
        /// The decline reason.
        reason: DeclineReason,
        /// `extensions.data.Property` (empty when absent).
        property: String,
        /// Server message (scrubbed).
        message: String,
    },
    /// `FUSION_ERROR`: an unexpected server condition. For a mutation the outcome is unknown.
    #[error("POS reported FUSION_ERROR for {operation}: {message}")]
    Fusion {
        /// GraphQL operation name.
        operation: &'static str,
        /// True for mutations.
        mutation: bool,
        /// Server message (scrubbed).
        message: String,
    },
    /// An error with a code this client does not know (or none), and no data.
    #[error("POS returned error {code:?} for {operation}: {message}")]
    Graphql {
        /// GraphQL operation name.
        operation: &'static str,
        /// True for mutations.
        mutation: bool,
        /// `extensions.code`, if any.
        code: Option<String>,
        /// Server message (scrubbed).
        message: String,
    },
    /// The answer could not be understood: not JSON, wrong types, missing fields, too large.
    #[error("POS answer to {operation} is malformed: {reason}")]
    BadResponse {
        /// GraphQL operation name.
        operation: &'static str,
        /// True for mutations: the server may have applied it anyway.
        mutation: bool,
        /// What was wrong (never the body itself).
        reason: String,
    },
    /// The OIDC provider rejected the client (`invalid_client`): wrong id or secret.
    #[error("POS identity provider rejected the client credentials (invalid_client)")]
    InvalidClient,
    /// Configuration or discovery problem (bad URL, issuer mismatch, unreadable secret file).
    #[error("POS client configuration: {0}")]
    Config(String),
}

impl PosError {
    /// The class that decides retry, in-doubt, reject or alert.
    pub fn class(&self) -> ErrorClass {
        let unknown_or_transient = |mutation: bool| {
            if mutation {
                ErrorClass::OutcomeUnknown
            } else {
                ErrorClass::Transient
            }
        };
        match self {
            Self::NotSent { .. } => ErrorClass::NotSent,
            Self::OutcomeUnknown { mutation, .. }
            | Self::Fusion { mutation, .. }
            | Self::Graphql { mutation, .. }
            | Self::BadResponse { mutation, .. } => unknown_or_transient(*mutation),
            Self::HttpStatus {
                status, mutation, ..
            } => match status {
                429 => ErrorClass::NotSent,
                408 | 500..=599 => unknown_or_transient(*mutation),
                _ => ErrorClass::Rejected,
            },
            Self::NotAuthorized { .. } | Self::Validation { .. } | Self::Declined { .. } => {
                ErrorClass::Rejected
            }
            Self::NotAuthenticated { .. } | Self::InvalidClient | Self::Config(_) => {
                ErrorClass::Configuration
            }
        }
    }

    /// True when the same request may be sent again (after a backoff delay).
    pub fn is_retryable(&self) -> bool {
        matches!(self.class(), ErrorClass::NotSent | ErrorClass::Transient)
    }

    /// The decline reason, for a declined gift-card operation.
    pub fn decline_reason(&self) -> Option<&DeclineReason> {
        match self {
            Self::Declined { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The server's `Retry-After` hint, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_reliability_table() {
        let op = "purchaseAdd";
        let cases: Vec<(PosError, ErrorClass)> = vec![
            (
                PosError::NotSent {
                    operation: op,
                    reason: "refused".into(),
                },
                ErrorClass::NotSent,
            ),
            (
                PosError::OutcomeUnknown {
                    operation: op,
                    mutation: true,
                    reason: "reset".into(),
                },
                ErrorClass::OutcomeUnknown,
            ),
            (
                PosError::OutcomeUnknown {
                    operation: "item",
                    mutation: false,
                    reason: "reset".into(),
                },
                ErrorClass::Transient,
            ),
            (
                PosError::HttpStatus {
                    operation: op,
                    mutation: true,
                    status: 503,
                    retry_after: None,
                },
                ErrorClass::OutcomeUnknown,
            ),
            (
                PosError::HttpStatus {
                    operation: op,
                    mutation: true,
                    status: 429,
                    retry_after: None,
                },
                ErrorClass::NotSent,
            ),
            (
                PosError::HttpStatus {
                    operation: op,
                    mutation: true,
                    status: 400,
                    retry_after: None,
                },
                ErrorClass::Rejected,
            ),
            (
                PosError::HttpStatus {
                    operation: op,
                    mutation: true,
                    status: 403,
                    retry_after: None,
                },
                ErrorClass::Rejected,
            ),
            (
                PosError::Fusion {
                    operation: op,
                    mutation: true,
                    message: String::new(),
                },
                ErrorClass::OutcomeUnknown,
            ),
            (
                PosError::Fusion {
                    operation: "sale",
                    mutation: false,
                    message: String::new(),
                },
                ErrorClass::Transient,
            ),
            (PosError::InvalidClient, ErrorClass::Configuration),
            (
                PosError::NotAuthenticated { operation: op },
                ErrorClass::Configuration,
            ),
            (
                PosError::Declined {
                    operation: "giftcardTransAdd",
                    reason: DeclineReason::InvalidPin,
                    property: String::new(),
                    message: String::new(),
                },
                ErrorClass::Rejected,
            ),
            (
                PosError::BadResponse {
                    operation: op,
                    mutation: true,
                    reason: String::new(),
                },
                ErrorClass::OutcomeUnknown,
            ),
        ];
        for (err, class) in cases {
            assert_eq!(err.class(), class, "{err}");
        }
    }

    #[test]
    fn decline_reasons_map_from_validation_types() {
        for (t, r) in [
            ("InsufficientBalance", DeclineReason::InsufficientBalance),
            ("CodeNotFound", DeclineReason::CodeNotFound),
            ("CodeExpired", DeclineReason::CodeExpired),
            ("InvalidPin", DeclineReason::InvalidPin),
            ("AmountSign", DeclineReason::AmountSign),
            (
                "TransactionNotAuthorized",
                DeclineReason::TransactionNotAuthorized,
            ),
            (
                "NotEmptyValidator",
                DeclineReason::Other("NotEmptyValidator".into()),
            ),
        ] {
            assert_eq!(DeclineReason::from_validation_type(t), r);
        }
    }
}
